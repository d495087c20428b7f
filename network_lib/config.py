"""TOML configuration with a dataclass schema and environment overrides.

A config class is a frozen dataclass; a field whose type is another dataclass is a TOML
table, and a field typed ``tuple[SomeDataclass, ...]`` is an array of tables. Unknown keys
and bad values stop start-up with a `ConfigError` naming the key. Every leaf key can be
overridden by ``<PREFIX>_<TABLE>_<KEY>`` in upper case (DESIGN.md "Configuration keys").
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration problem; the message names the key and what is wrong."""


def check(fn: Callable[[Any], str | None]) -> dict[str, Any]:
    """Field metadata: `fn(value)` returns an error text, or None when the value is fine."""
    return {"check": fn}


def required(check_fn: Callable[[Any], str | None] | None = None) -> Any:
    """A field with no default that must be present in the file or the environment."""
    metadata: dict[str, Any] = {"required": True}
    if check_fn is not None:
        metadata["check"] = check_fn
    return dataclasses.field(default=None, metadata=metadata)


def load(cls: type[T], path: str | Path | None, env_prefix: str,
         environ: Mapping[str, str] | None = None) -> T:
    """Read `path` (TOML; may be None), apply environment overrides, validate, build `cls`."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    environ = os.environ if environ is None else environ
    return _build(cls, data, [], env_prefix.upper(), environ)


def _build(cls: type[T], data: Any, where: list[str], prefix: str,
           environ: Mapping[str, str]) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{_name(where)} must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        keys = ", ".join(_name(where + [k]) for k in unknown)
        raise ConfigError(f"unknown configuration key(s): {keys}")
    values = {}
    for name, f in fields.items():
        values[name] = _field_value(f, hints[name], data, where + [name], prefix, environ)
    return cls(**values)


def _field_value(f: dataclasses.Field, tp: Any, data: dict, where: list[str], prefix: str,
                 environ: Mapping[str, str]) -> Any:
    key = where[-1]
    if dataclasses.is_dataclass(tp):
        return _build(tp, data.get(key, {}), where, prefix, environ)
    item = _table_array_item(tp)
    if item is not None:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise ConfigError(f"{_name(where)} must be an array of tables ([[{key}]])")
        return tuple(_build(item, t, where + [str(i)], prefix, environ)
                     for i, t in enumerate(raw))
    env_name = "_".join([prefix, *where]).upper()
    if env_name in environ:
        value = _from_env(environ[env_name], tp, env_name)
    elif key in data:
        value = _coerce(data[key], tp, _name(where))
    elif f.metadata.get("required"):
        raise ConfigError(f"missing required key {_name(where)} (or set {env_name})")
    elif f.default is not dataclasses.MISSING:
        value = f.default
    else:
        value = f.default_factory()  # type: ignore[misc]
    problem = f.metadata.get("check", lambda v: None)(value) if value is not None else None
    if problem:
        raise ConfigError(f"bad value for {_name(where)}: {problem}")
    return value


def _table_array_item(tp: Any) -> type | None:
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if args and dataclasses.is_dataclass(args[0]):
            return args[0]
    return None


def _base(tp: Any) -> Any:
    """Strip `X | None` down to X."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) and len(args) == 1:
        return args[0]
    return tp


def _coerce(value: Any, tp: Any, name: str) -> Any:
    base = _base(tp)
    if value is None:
        return None
    if typing.get_origin(base) is tuple:
        item = typing.get_args(base)[0]
        if isinstance(value, str) and item is str:
            value = [value]                 # a list of strings may be given as one string
        if not isinstance(value, list):
            raise ConfigError(f"bad value for {name}: expected a list, got {value!r}")
        return tuple(_coerce(v, item, name) for v in value)
    if base is bool:
        if isinstance(value, bool):
            return value
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif base is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise ConfigError(f"bad value for {name}: expected {base.__name__}, got {value!r}")


def _from_env(text: str, tp: Any, env_name: str) -> Any:
    base = _base(tp)
    try:
        if typing.get_origin(base) is tuple:
            item = typing.get_args(base)[0]
            parts = [p.strip() for p in text.split(",") if p.strip()]
            return tuple(_from_env(p, item, env_name) for p in parts)
        if base is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if base is int:
            return int(text.replace("_", ""))
        if base is float:
            return float(text)
        return text
    except ValueError:
        raise ConfigError(f"bad value for environment variable {env_name}: {text!r}") from None


def _name(where: list[str]) -> str:
    return ".".join(where) if where else "(top level)"


# Reusable checks.
def port(v: int) -> str | None:
    return None if 0 <= v <= 65535 else "must be a TCP port (0-65535)"


def positive(v: float) -> str | None:
    return None if v > 0 else "must be greater than 0"


def non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be 0 or greater"


def one_of(*choices: str) -> Callable[[Any], str | None]:
    def _check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {', '.join(map(repr, choices))}, got {v!r}"
    return _check
