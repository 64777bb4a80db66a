"""Loading Falco rules files: the public entry points.

Files load in order into one set of definitions. As in Falco, everything defined so far is
compiled after each file, so each file gets its own result (errors, warnings) and a file
may only rely on what earlier files and itself define. ``compile_each_file=False`` compiles
once at the end instead (faster for many files; results then land on the last file).

    loaded = load_rules_files(["falco_rules.yaml", "my_rules.yaml"])
    if not loaded.result.successful: ...
    for rule in loaded.ruleset.run(event): ...
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lanner.fields.registry import FieldRegistry
from lanner.rules.loader_compile import Compiler
from lanner.rules.loader_items import RequiredPlugin
from lanner.rules.loader_reader import Collector, FileReader, Version, version_text
from lanner.rules.loader_text import snippet
from lanner.rules.results import (
    FileResult,
    ItemType,
    LoadCode,
    LoadMessage,
    LoadResult,
    Location,
    RuleLoadError,
)
from lanner.rules.ruleset import CompiledRule, Ruleset
from lanner.rules.yamlio import YamlParseError, load_documents

ENGINE_VERSION: Version = (0, 57, 0)
"""The Falco rules engine version whose rules language we implement."""
ENGINE_VERSION_TEXT = version_text(ENGINE_VERSION)
DEFAULT_SOURCES: tuple[str, ...] = ("syscall",)


def default_registry() -> FieldRegistry:
    """The field catalog, or an empty registry while the catalog is not available."""
    try:
        from lanner.fields import default_registry as catalog
    except ImportError:  # pragma: no cover - the catalog ships with the package
        return FieldRegistry()
    return catalog()


def default_event_types() -> frozenset[str]:
    """Every name ``evt.type`` can take, or empty when the event table is not available."""
    try:
        from lanner.events.table import event_type_names
    except ImportError:  # pragma: no cover - the table ships with the package
        return frozenset()
    return event_type_names()


@dataclass
class LoadedRules:
    """What a load gives: results per file, and the rules of the last successful compile."""

    result: LoadResult
    rules: list[CompiledRule] = field(default_factory=list)
    required_engine_version: Version | None = None
    required_plugins: list[RequiredPlugin] = field(default_factory=list)

    @property
    def successful(self) -> bool:
        return self.result.successful

    def ruleset(self, **options: object) -> Ruleset:
        """A new :class:`Ruleset` over the compiled rules (options go to its constructor)."""
        return Ruleset(self.rules, **options)  # type: ignore[arg-type]


class RulesLoader:
    """Loads files one after another; :meth:`finish` returns the outcome."""

    def __init__(
        self,
        *,
        registry: FieldRegistry | None = None,
        event_types: frozenset[str] | None = None,
        sources: Collection[str] = DEFAULT_SOURCES,
        engine_version: Version = ENGINE_VERSION,
        compile_each_file: bool = True,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.event_types = event_types if event_types is not None else default_event_types()
        self.sources = frozenset(sources)
        self.engine_version = engine_version
        self.compile_each_file = compile_each_file
        self.collector = Collector()
        self.result = LoadResult()
        self.rules: list[CompiledRule] = []
        self._texts: dict[str, str] = {}
        self._compiler = Compiler(self.registry, self.event_types, self._texts.get)
        self._dirty = False

    def add_file(self, path: str | Path) -> FileResult:
        name = str(path)
        try:
            data = Path(path).read_bytes()
        except IsADirectoryError:
            reason = "a directory with no files in it"
            return self._failed(name, LoadCode.LOAD_ERR_FILE_READ, reason)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return self._failed(name, LoadCode.LOAD_ERR_FILE_READ, f"Could not read file: {reason}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            return self._failed(
                name,
                LoadCode.LOAD_ERR_YAML_PARSE,
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col}",
                line,
                col,
            )
        return self.add_string(text, name)

    def add_string(self, text: str, name: str = "rules.yaml") -> FileResult:
        self._texts[name] = text
        file_result = FileResult(name)
        self.result.files.append(file_result)
        try:
            documents = load_documents(text)
        except YamlParseError as exc:
            where = f" at line {exc.line}, column {exc.col}" if exc.line else ""
            self._record(
                file_result,
                LoadMessage(
                    LoadCode.LOAD_ERR_YAML_PARSE,
                    f"YAML parse error{where}: {exc.message}",
                    (Location(ItemType.CONTENT, "", name, exc.line, exc.col),),
                    snippet(text, exc.line, exc.col),
                ),
            )
            return file_result
        reader = FileReader(
            self.collector,
            name,
            registry=self.registry,
            sources=self.sources,
            engine_version=self.engine_version,
            warn=lambda message: self._record(file_result, message),
        )
        try:
            reader.read_documents(documents)
        except RuleLoadError as exc:
            self._record(file_result, exc.load_message)
            return file_result
        self._dirty = True
        if self.compile_each_file:
            self._compile(file_result)
        return file_result

    def finish(self) -> LoadedRules:
        if self._dirty and self.result.files:
            self._compile(self.result.files[-1])
        return LoadedRules(
            self.result,
            self.rules,
            self.collector.required_engine_version,
            self.collector.required_plugins,
        )

    def _compile(self, file_result: FileResult) -> None:
        self._dirty = False
        try:
            self.rules = self._compiler.compile(
                self.collector, lambda message: self._record(file_result, message)
            )
        except RuleLoadError as exc:
            self._record(file_result, exc.load_message)

    def _record(self, file_result: FileResult, message: LoadMessage) -> None:
        if not message.snippet and message.line:
            message = LoadMessage(
                message.code,
                message.message,
                message.locations,
                snippet(self._texts.get(message.file), message.line, message.col),
            )
        file_result.add(message)

    def _failed(
        self, name: str, code: LoadCode, message: str, line: int = 0, col: int = 0
    ) -> FileResult:
        file_result = FileResult(name)
        file_result.add(
            LoadMessage(code, message, (Location(ItemType.CONTENT, "", name, line, col),))
        )
        self.result.files.append(file_result)
        return file_result


def expand_rules_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Falco's `-r` and `rules_files`: a directory stands for the regular files in it (symlinks
    followed, as for rules.d links into rules.available), in name order; other paths are kept
    as given, and so is a directory with no files (both are reported when read)."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else []
        out.extend(files or [path])
    return out


def load_rules_files(paths: Iterable[str | Path], **options: object) -> LoadedRules:
    """Load ``paths`` in order, directories expanded (options: see :class:`RulesLoader`)."""
    loader = RulesLoader(**options)  # type: ignore[arg-type]
    for path in expand_rules_paths(paths):
        loader.add_file(path)
    return loader.finish()


def load_rules_string(text: str, name: str = "rules.yaml", **options: object) -> LoadedRules:
    """Load rules from a string, reported under ``name``."""
    loader = RulesLoader(**options)  # type: ignore[arg-type]
    loader.add_string(text, name)
    return loader.finish()
