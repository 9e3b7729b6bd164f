"""`make bench`: the whole system under realistic load, measured beside raw references (issue 6)."""
