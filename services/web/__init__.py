"""The web: the pages the desk, the departments, the citizens and the leaders work in.

A backend-for-frontend: server-rendered pages (Jinja2) that call the four services' APIs with
the signed-in user's token. It owns no dossier state; its only memory is the sessions.
"""

PORT = 8000
