"""Subcommands beyond ``sweep``/``fit``/``plot``: every module here exposing
``register(subparsers)`` adds its commands to ``recscale`` (found by ``recscale.cli``).

A command handler returns the exit status; raising ``sweeps.errors.InputError`` (or a
subclass) prints ``recscale: error: ...`` and exits with status 2.
"""
