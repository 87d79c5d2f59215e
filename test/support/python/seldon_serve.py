"""Runs seldon-core's microservice with its REST, gRPC and metrics servers on loopback.

seldon-core 1.18 hard-codes 0.0.0.0 for all three; test servers listen on loopback only, so the
gunicorn bind option, the gRPC port reservation and the gRPC server's address are rewritten to
127.0.0.1 before its main() runs. Usage: python seldon_serve.py <seldon-core-microservice args>.
"""

import contextlib
import socket
import sys

import flask
import grpc._server
from seldon_core import gunicorn_utils, microservice


def _loopback(address: str) -> str:
    return address.replace("0.0.0.0:", "127.0.0.1:")


_load_config = gunicorn_utils.StandaloneApplication.load_config


def _load_loopback_config(self):
    self.options["bind"] = _loopback(self.options["bind"])
    return _load_config(self)


gunicorn_utils.StandaloneApplication.load_config = _load_loopback_config

_add_insecure_port = grpc._server._Server.add_insecure_port


def _add_loopback_port(self, address):
    return _add_insecure_port(self, _loopback(address))


grpc._server._Server.add_insecure_port = _add_loopback_port


@contextlib.contextmanager
def _reserve_loopback_port(grpc_port: int):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", grpc_port))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


microservice._reserve_grpc_port = _reserve_loopback_port

_flask_run = flask.Flask.run


def _run_on_loopback(self, host=None, *args, **kwargs):
    # --debug serves REST and metrics with Flask's own server.
    return _flask_run(self, "127.0.0.1", *args, **kwargs)


flask.Flask.run = _run_on_loopback

sys.argv = ["seldon-core-microservice", *sys.argv[1:]]
microservice.main()
