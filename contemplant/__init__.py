"""The contemplant: a GPU worker that dials a hierophant and proves its jobs.

Run it with `twistd -n contemplant -c etc/contemplant.toml` (twisted/plugins/contemplant_plugin.py).
Parts: config.py (schema), service.py (the twistd service), connection.py (the /ws link),
jobs.py (the job table), transfer.py (job bytes over HTTP), backends/ (provers),
health.py (GET /health), state.py (state_dir), exits.py (exit statuses).
"""
