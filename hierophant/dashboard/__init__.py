"""The live dashboard at `/dashboard` (issue 12): pages.py routes it, access.py decides who
sees it, snapshot.py builds what it shows, events.py pushes that by server-sent events, and
static/ holds the HTML, CSS and JavaScript (packaged; nothing is fetched from elsewhere).
Everything here runs on the reactor and only reads the coordinator's state."""
