"""A grpcio server interceptor counting unary calls by method and status code, with latency.

Runs on the gRPC handler threads (HierophantMetrics is thread-safe). A handler that aborts
has its status code on the servicer context when the abort's exception passes here; one
that returns normally answered OK. Streaming methods (health watch, reflection) pass through.
"""
from __future__ import annotations

import time

import grpc

from hierophant.metrics import HierophantMetrics


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: HierophantMetrics) -> None:
        self.metrics = metrics

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_streaming \
                or handler.response_streaming:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]   # "/network.ProverNetwork/GetNonce"
        inner, metrics = handler.unary_unary, self.metrics

        def counted(request, context):
            start = time.perf_counter()
            code = "OK"
            try:
                response = inner(request, context)
                if context.code() not in (None, grpc.StatusCode.OK):
                    code = context.code().name
                return response
            except BaseException:
                code = context.code().name if context.code() is not None else "UNKNOWN"
                raise
            finally:
                metrics.grpc_call(method, code, time.perf_counter() - start)

        return grpc.unary_unary_rpc_method_handler(counted, request_deserializer=handler.request_deserializer,
                                                   response_serializer=handler.response_serializer)
