"""Reading scenario files: YAML in, a validated frozen :class:`Scenario` out.

:func:`load_scenario` is the only YAML reader in ecssim. It validates a file
once against the schema (:mod:`ecssim.scenario.schema`) and turns every problem
into a :class:`~ecssim.errors.ScenarioError` that names the dotted path, the
bad value and, where it can, the line. Overrides (``--set``), relative trace
paths and the JSON Schema for editors are here too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import (
    ValidationError,
)

from ecssim.errors import ScenarioError
from ecssim.scenario.schema import Scenario
from ecssim.scenario.schema_docs import annotate
from ecssim.scenario.traces import check_trace

# ---- loading ------------------------------------------------------------------------------
#: Bounds on a scenario document, checked before anything walks it: values after
#: aliases are expanded (a few nested aliases can stand for billions), and depth.
MAX_YAML_VALUES: Final = 100_000
MAX_YAML_DEPTH: Final = 50


def _check_document(text: str, source: str) -> None:
    """Refuse YAML that is safe to parse but not to use: duplicate keys, alias
    bombs and deep nesting, each named with its dotted path and line.

    Raises:
        ScenarioError: naming the problem, the path and the line.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ScenarioError(
            f"{source}: the document is nested too deeply "
            f"(at most {MAX_YAML_DEPTH} levels)"
        ) from None
    except yaml.YAMLError:
        return  # reported with its line when the document is loaded
    if root is None:
        return
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, path: tuple[str | int, ...], depth: int) -> int:
        """The number of values *node* stands for once its aliases are expanded."""
        line = node.start_mark.line + 1
        if depth > MAX_YAML_DEPTH:
            raise ScenarioError(
                f"{source}:{line}: {dotted(path)}: nested more than "
                f"{MAX_YAML_DEPTH} levels deep"
            )
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once
        total = 1
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                key_line = key.start_mark.line + 1
                if name in first and name != "<<":
                    raise ScenarioError(
                        f"{source}:{key_line}: {dotted((*path, name))}: "
                        f"given twice (lines {first[name]} and {key_line})"
                    )
                first.setdefault(name, key_line)
                total += size(value, (*path, name), depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                total += size(item, (*path, index), depth + 1)
        if total > MAX_YAML_VALUES:
            raise ScenarioError(
                f"{source}:{line}: {dotted(path) or 'the document'}: stands for more "
                f"than {MAX_YAML_VALUES:,} values once its aliases are expanded"
            )
        sizes[id(node)] = total
        return total

    size(root, (), 0)


def _line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each YAML path (keys and list indexes) to its 1-based line number."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(
        node: yaml.Node, path: tuple[str | int, ...], seen: frozenset[int]
    ) -> None:
        if id(node) in seen:  # a recursive alias: its lines are already known
            return
        seen = seen | {id(node)}
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub, seen)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i), seen)

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, (), frozenset())
    return lines


_LEADING_PATH = re.compile(
    r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.*)$", re.S
)


def _split_dotted(text: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in text.split("."):
        name, *indexes = chunk.replace("]", "").split("[")
        parts.append(name)
        parts.extend(int(i) for i in indexes)
    return parts


def dotted(path: tuple[str | int, ...]) -> str:
    """``services[0].protection.expires_in`` from ``("services", 0, ...)``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _format_errors(
    exc: ValidationError,
    raw: Any,
    lines: Mapping[tuple[str | int, ...], int],
    source: str,
) -> str:
    messages = []
    errors = exc.errors()
    if any(e["type"] != "too_short" for e in errors):
        # a list whose items all failed also reports itself as too short
        errors = [e for e in errors if e["type"] != "too_short"]
    for error in errors:
        path = tuple(error["loc"])
        # pydantic adds union and discriminator tags to the path: keep only what
        # is in the file (and the key a missing/unknown-key error is about)
        clean: list[str | int] = []
        node = raw
        for part in path:
            found, child = _child(node, part)
            if found:
                node = child
                clean.append(part)
            elif error["type"] in ("extra_forbidden", "missing") and part == path[-1]:
                clean.append(part)
        message = error["msg"].removeprefix("Value error, ")
        # a check across fields names its own path at the start of its message
        leading = (
            _LEADING_PATH.match(message) if error["type"] == "value_error" else None
        )
        if leading is not None:
            clean.extend(_split_dotted(leading.group(1)))
            message = leading.group(2)
        where = dotted(tuple(clean)) or "(top level)"
        line = None
        for n in range(len(clean), -1, -1):
            line = lines.get(tuple(clean[:n]))
            if line is not None:
                break
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] != "missing" and "input" in error and leading is None:
            value = error["input"]
            if not isinstance(value, Mapping | list):
                message = f"{_as_written(node, value)}: {message}"
        prefix = f"{source}:{line}: " if line else f"{source}: "
        messages.append(f"{prefix}{where}: {message}")
    return "\n".join(dict.fromkeys(messages))


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """``(True, node[part])`` when the file has that key or index, else ``(False, None)``."""
    if isinstance(node, Mapping) and part in node:
        return True, node[part]
    if isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
        return True, node[part]
    return False, None


def _as_written(raw: Any, value: Any) -> str:
    """The value as the file wrote it, with what it became when units were read."""
    if isinstance(raw, str) and isinstance(value, float) and raw != str(value):
        unit = "per s" if "/" in raw else "s"
        return f"{raw!r} (= {value:g} {unit})"
    return repr(value)


def parse_scenario(
    raw: Any,
    *,
    source: str = "<scenario>",
    text: str | None = None,
    folder: str | Path | None = None,
) -> Scenario:
    """Validate a scenario given as plain data (what ``yaml.safe_load`` returns),
    and check the trace files it names.

    Args:
        raw: the scenario as plain data.
        source: names the scenario in error messages (usually its file).
        text: the YAML text *raw* was read from, for line numbers.
        folder: resolve relative trace paths against this folder (else they
            are relative to the working folder, as a run reads them).

    Raises:
        ScenarioError: naming each bad field's dotted path, value and line.
    """
    if not isinstance(raw, Mapping):
        raise ScenarioError(
            f"{source}: a scenario is a mapping of keys, got {type(raw).__name__}"
        )
    lines = _line_index(text) if text is not None else {}
    _check_strings(raw, source, lines)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(exc, raw, lines, source)) from None
    if folder is not None:
        scenario = resolve_paths(scenario, Path(folder))
    _check_traces(scenario, raw, source, lines)
    return scenario


def _where(
    source: str, lines: Mapping[tuple[str | int, ...], int], path: tuple[str | int, ...]
) -> str:
    """``FILE:LINE: dotted.path`` (without the line when it is not known)."""
    for n in range(len(path), -1, -1):
        line = lines.get(path[:n])
        if line is not None:
            return f"{source}:{line}: {dotted(path)}"
    return f"{source}: {dotted(path)}"


def _bad_character(text: str) -> str | None:
    for char in text:
        if char in _CONTROL:
            return char
    return None


#: Characters no scenario string may hold: NUL and the other C0 controls but
#: tab, newline and carriage return, and DEL (names become folder and file
#: names; the rest end up in reports and terminals).
_CONTROL: Final = frozenset(chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127])


def _check_strings(
    raw: Any, source: str, lines: Mapping[tuple[str | int, ...], int]
) -> None:
    """Refuse a NUL byte or another control character in any key or string.

    Raises:
        ScenarioError: naming the dotted path, the line and the character.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    seen = 0
    while stack:
        node, path = stack.pop()
        seen += 1
        if seen > MAX_YAML_VALUES:
            return  # reported by the document checks or the schema
        if len(path) > MAX_YAML_DEPTH:
            continue
        # (text, where it is, whether it is a key)
        strings: list[tuple[str, tuple[str | int, ...], bool]] = []
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str):
                    strings.append((key, path, True))
                stack.append((value, (*path, str(key))))
        elif isinstance(node, list | tuple):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))
        elif isinstance(node, str):
            strings.append((node, path, False))
        for text, where, is_key in strings:
            char = _bad_character(text)
            if char is not None:
                shown = text if len(text) <= 60 else text[:60] + "..."
                name = (
                    "a NUL byte"
                    if char == "\0"
                    else f"the control character U+{ord(char):04X}"
                )
                if is_key:  # the key's own line; the path of the mapping it is in
                    line = lines.get((*where, text))
                    at = f"{source}:{line}" if line else source
                    place = f"{at}: {dotted(where) or '(top level)'}"
                    what = f"a key {shown!r}"
                else:
                    place, what = _where(source, lines, where), repr(shown)
                raise ScenarioError(
                    f"{place}: {what}: contains {name}; scenario text cannot hold "
                    "control characters"
                )


def _check_traces(
    scenario: Scenario,
    raw: Any,
    source: str,
    lines: Mapping[tuple[str | int, ...], int],
) -> None:
    """Open and check every trace file *scenario* names.

    Raises:
        ScenarioError: ``FILE:LINE: services[i].workload.arrivals.trace: 'PATH':``
            then what is wrong with the trace (its own file, line and column).
    """
    for index, service in enumerate(scenario.services):
        workload = service.workload
        trace = workload.arrivals.trace if workload is not None else None
        if trace is None:
            continue
        path = ("services", index, "workload", "arrivals", "trace")
        written: Any = raw
        for part in path:
            found, written = _child(written, part)
            if not found:
                written = str(trace)
                break
        try:
            check_trace(trace)
        except ScenarioError as exc:
            raise ScenarioError(
                f"{_where(source, lines, path)}: {str(written)!r}: {exc}"
            ) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at *path*.

    Relative trace paths are resolved against the file's folder.

    Raises:
        ScenarioError: the file is missing, is not YAML, or is not a valid scenario.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            f"{path}: cannot read the scenario file ({exc.strerror})"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: is not a UTF-8 text file") from None
    _check_document(text, str(path))
    try:
        raw = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ScenarioError(
            f"{path}:{line}:{column}: not valid YAML: the control character "
            f"U+{code:04X} is not allowed in a scenario file (line {line}, "
            f"column {column})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}{where}: not valid YAML: {problem}") from None
    except ValueError as exc:
        if "digits" in str(exc):  # an integer longer than Python converts
            raise ScenarioError(
                f"{path}: a number is too long to read (more than 4,300 digits)"
            ) from None
        raise ScenarioError(_UNBUILDABLE.format(path=path)) from None
    except Exception:  # PyYAML's own constructors fail on some tagged values
        raise ScenarioError(_UNBUILDABLE.format(path=path)) from None
    return parse_scenario(raw, source=str(path), text=text, folder=path.parent)


#: what a scenario file gets when YAML's constructors cannot build one of its values
_UNBUILDABLE = (
    "{path}: not valid YAML: a tagged value YAML cannot build (for example an "
    "empty !!float, !!bool or !!timestamp, or a !!timestamp that is no date)"
)


def resolve_paths(scenario: Scenario, folder: Path) -> Scenario:
    """*scenario* with relative trace paths made relative to *folder*."""
    services = []
    for original in scenario.services:
        service = original
        workload = service.workload
        trace = workload.arrivals.trace if workload is not None else None
        if workload is not None and trace is not None and not trace.is_absolute():
            arrivals = workload.arrivals.model_copy(update={"trace": folder / trace})
            workload = workload.model_copy(update={"arrivals": arrivals})
            service = service.model_copy(update={"workload": workload})
        services.append(service)
    return scenario.model_copy(update={"services": tuple(services)})


def with_overrides(
    raw: Mapping[str, Any], overrides: Mapping[str, Any], *, what: str = "override"
) -> dict[str, Any]:
    """A deep copy of the raw scenario *raw* with values set by dotted path.

    ``services[0].protection.expires_in`` indexes lists with ``[i]`` and maps
    with dots; ``services.transcoder.protection.expires_in`` picks a list's item
    by its ``name``; a missing key of a mapping is created.

    Raises:
        ScenarioError: a path goes through something that is not there (the
            message starts with *what* and the path).
    """
    data = copy.deepcopy(dict(raw))
    for path, value in overrides.items():
        parts = _split_path(path, what)
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(part, int):
                if not isinstance(node, list) or not -len(node) <= part < len(node):
                    raise ScenarioError(f"{what} {path!r}: no item [{part}] there")
                if last:
                    node[part] = value
                else:
                    node = node[part]
            else:
                if isinstance(node, list) and not last:
                    node = _named_item(node, part, path, what)
                    continue
                if not isinstance(node, dict):
                    raise ScenarioError(
                        f"{what} {path!r}: {part!r} is not under a mapping"
                    )
                if last:
                    node[part] = value
                else:
                    if node.get(part) is None:  # absent, or a section left null
                        node[part] = {}
                    node = node[part]
    return data


def _named_item(items: list[Any], name: str, path: str, what: str) -> Any:
    """The item of *items* (services, capacity providers, ...) whose ``name``
    is *name*: ``services.transcoder.protection.policy`` reads like
    ``services[0].protection.policy``."""
    names = [item.get("name") for item in items if isinstance(item, dict)]
    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    known = ", ".join(repr(n) for n in names if isinstance(n, str)) or "none"
    raise ScenarioError(
        f"{what} {path!r}: no item named {name!r} in that list (names: {known}); "
        "or give its position, as in services[0]"
    )


def _split_path(path: str, what: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            if not index.lstrip("-").isdigit():
                raise ScenarioError(f"{what} {path!r}: [{index}] is not an index")
            parts.append(int(index))
            rest = rest.removeprefix("[")
    if not parts:
        raise ScenarioError(f"{what} {path!r} is empty")
    return parts


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors)."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ecssim scenario"
    return annotate(schema)
