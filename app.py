"""WSGI entry point: ``gunicorn app:app`` and ``flask --app app ...``."""
from wx_backend import create_app

app = create_app()
