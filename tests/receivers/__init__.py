"""Receivers for the tests of ``amodp check``: small servers on 127.0.0.1 that
answer the way real receivers go wrong."""
