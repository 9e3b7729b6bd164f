"""Hosting a service process: settings, lifecycle, HTTP error format, health."""
