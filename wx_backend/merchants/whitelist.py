"""The industry whitelist (industry_whitelist.yaml): who may use WeChat native H5 and the mini-program.

The file is validated strictly at start-up. It is composed (not just loaded) so that every node keeps its
line: a syntax error, a duplicate key, a bad key, a missing or unknown field all raise WhitelistError
with ``path:line``. The service refuses to start with a broken whitelist rather than guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..settings import ConfigError

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
OTHER = "other"
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
TOP_FIELDS = {"version", "industries"}
INDUSTRY_FIELDS = {"name", "sub_industries"}
SUB_FIELDS = {"name", "qualification"}
SUPPORTED_VERSION = 1


class WhitelistError(ConfigError):
    """The whitelist file is unusable; the message names the file and line."""


@dataclass(frozen=True)
class SubIndustry:
    key: str              # full key, "finance.bank"
    name: str             # Chinese, "银行"
    qualification: str    # what the merchant must show
    industry_key: str     # "finance"
    industry_name: str    # "金融"

    @property
    def label(self) -> str:
        return f"{self.industry_name} / {self.name}"


@dataclass(frozen=True)
class Industry:
    key: str
    name: str
    subs: tuple[SubIndustry, ...]


@dataclass(frozen=True)
class Whitelist:
    industries: tuple[Industry, ...]
    source: str = ""

    def get(self, key: str) -> SubIndustry | None:
        """The sub-industry for a full key ("finance.bank"), None when not whitelisted."""
        for industry in self.industries:
            for sub in industry.subs:
                if sub.key == key:
                    return sub
        return None

    def is_whitelisted(self, key: str) -> bool:
        return self.get(key) is not None

    def keys(self) -> list[str]:
        return [s.key for i in self.industries for s in i.subs]

    def without(self, industry_key: str) -> "Whitelist":
        """A copy with one top-level industry removed (what-if views and tests)."""
        return Whitelist(tuple(i for i in self.industries if i.key != industry_key), self.source)

    def describe(self, key: str) -> str:
        """A Chinese label for an application's industry key, including "other"."""
        if key == OTHER:
            return "其他（不在白名单）"
        sub = self.get(key)
        return sub.label if sub else f"{key}（已不在白名单）"


class _Reader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, node: yaml.Node | None, message: str) -> WhitelistError:
        where = f"{self.source}:{node.start_mark.line + 1}" if node is not None else self.source
        return WhitelistError(f"industry whitelist {where}: {message}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Key text -> (key node, value node); refuses duplicates and non-text keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                raise self.fail(key_node, f"{what}: keys must be text")
            if key_node.value in out:
                first = out[key_node.value][0].start_mark.line + 1
                raise self.fail(key_node, f"{what}: duplicate key {key_node.value!r} "
                                          f"(first defined at line {first})")
            out[key_node.value] = (key_node, value_node)
        return out

    def fields(self, node: yaml.Node, what: str, allowed: set[str], at: yaml.Node | None = None) -> dict:
        """``at``: the node whose line a missing field is reported on (the mapping's own key)."""
        items = self.mapping(node, what)
        for name, (key_node, _) in items.items():
            if name not in allowed:
                raise self.fail(key_node, f"{what}: unknown field {name!r} "
                                          f"(allowed: {', '.join(sorted(allowed))})")
        for name in sorted(allowed):
            if name not in items:
                raise self.fail(at or node, f"{what}: missing field {name!r}")
        return items

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
            raise self.fail(node, f"{what} must be non-empty text")
        return node.value.strip()

    def key(self, node: yaml.Node, what: str) -> str:
        if not KEY_RE.match(node.value):
            raise self.fail(node, f"{what} {node.value!r} is not a valid key "
                                  "(lower-case letters, digits, _; starting with a letter)")
        if node.value == OTHER:
            raise self.fail(node, f"{what} {OTHER!r} is reserved for merchants outside the whitelist")
        return node.value


def parse(text: str, source: str = "<whitelist>") -> Whitelist:
    reader = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise WhitelistError(f"industry whitelist {source}{line}: YAML syntax error: "
                             f"{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise WhitelistError(f"industry whitelist {source}: {exc}") from None
    if root is None:
        raise WhitelistError(f"industry whitelist {source}: the file is empty")
    top = reader.fields(root, "top level", TOP_FIELDS)
    version_node = top["version"][1]
    if (not isinstance(version_node, yaml.ScalarNode) or version_node.tag != _INT
            or int(version_node.value) != SUPPORTED_VERSION):
        raise reader.fail(version_node, f"version must be {SUPPORTED_VERSION}")
    industries_node = top["industries"][1]
    industries = []
    for ind_key, (ind_key_node, ind_node) in reader.mapping(industries_node, "industries").items():
        reader.key(ind_key_node, "industry key")
        ind = reader.fields(ind_node, f"industry {ind_key!r}", INDUSTRY_FIELDS, ind_key_node)
        ind_name = reader.text(ind["name"][1], f"industry {ind_key!r} name")
        subs_node = ind["sub_industries"][1]
        subs = []
        for sub_key, (sub_key_node, sub_node) in reader.mapping(
                subs_node, f"industry {ind_key!r} sub_industries").items():
            reader.key(sub_key_node, "sub-industry key")
            what = f"sub-industry {ind_key}.{sub_key}"
            sub = reader.fields(sub_node, what, SUB_FIELDS, sub_key_node)
            subs.append(SubIndustry(
                key=f"{ind_key}.{sub_key}", name=reader.text(sub["name"][1], f"{what} name"),
                qualification=reader.text(sub["qualification"][1], f"{what} qualification"),
                industry_key=ind_key, industry_name=ind_name))
        if not subs:
            raise reader.fail(subs_node, f"industry {ind_key!r} has no sub_industries")
        industries.append(Industry(ind_key, ind_name, tuple(subs)))
    if not industries:
        raise reader.fail(industries_node, "industries is empty")
    return Whitelist(tuple(industries), source)


def load(path: str | Path) -> Whitelist:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WhitelistError(f"industry whitelist {path}: cannot read: {exc}") from None
    return parse(text, str(path))
