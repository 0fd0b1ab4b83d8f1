"""The HTTP API, a front end beside the dashboard: FastAPI routes over core's one photo and video pipelines.
Owns the app (app), its settings, request and response shapes (schemas), inputs (uploads), keys and limits
(security), the face pipeline's threads (inference), metrics, and serving it under uvicorn (run).

Start it with ``python train_cli.py serve``; docs/api.md is the guide. FastAPI is imported here and nowhere below.
"""
