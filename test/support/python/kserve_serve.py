"""Serves what `test_models.models()` returns with kserve's ModelServer, REST only, on loopback.

kserve hard-codes uvicorn's host to 0.0.0.0; test servers listen on loopback only, so uvicorn's
Config is made to bind 127.0.0.1 before kserve creates it.
Usage: python kserve_serve.py HTTP_PORT (with test_models.py on PYTHONPATH).
"""

import sys

import uvicorn

_Config = uvicorn.Config


class LoopbackConfig(_Config):
    def __init__(self, *args, **kwargs):
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


uvicorn.Config = LoopbackConfig

import kserve  # noqa: E402  (after the patch, which kserve's server module must see)
from test_models import models  # noqa: E402

kserve.ModelServer(http_port=int(sys.argv[1]), enable_grpc=False, workers=1).start(models())
