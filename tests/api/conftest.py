from tests.api.harness import _no_global_logging, api, backend, coach, fake_stripe, svc, token

__all__ = ["_no_global_logging", "api", "backend", "coach", "fake_stripe", "svc", "token"]
