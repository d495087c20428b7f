"""Operating a fleet by hand: the admin HTTP API (`/admin/...`, api.py) on the hierophant's
HTTP port, the actions it runs on the reactor (actions.py), its JSON views (views.py), and
`hierophant-admin` (cli.py), the console script that speaks it."""
