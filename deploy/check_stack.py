"""Check the deploy stack (deploy/terraform) without the terraform binary or the provider plugin.

    python -m deploy.check_stack            # exit 1 and one line per problem when something is wrong

What it verifies:

1. every `*.tf` parses (python-hcl2);
2. every reference resolves: `var.X` to a variable, `local.X` to a local, `<type>.<name>` to a
   resource, `data.<type>.<name>` to a data source, `module.X` to a module, and
   `<type>.<name>.<attribute>` to an argument or exported attribute of that resource type in the
   provider snapshot; every variable and every local is used;
3. every resource's arguments and nested blocks (dynamic blocks included) exist in the OCI
   provider's documented arguments for that resource type, from the snapshot JSON in
   deploy/provider-snapshot/ (made by deploy/extract_provider_schema.py from a pinned provider
   release), and every required argument is set;
4. schema.yaml (Resource Manager) matches the Terraform variables both ways. The names RM fills
   itself (RM_FILLED) are exempt both ways: Terraform declares only those it uses, and when
   schema.yaml lists them they must be in a hidden (`visible: false`) variable group. Every other
   schema variable is in exactly one group, has a type that fits the Terraform type, and is
   `required: true` exactly when the Terraform variable has no default;
5. the function's config map has exactly the config keys the function reads (FUNCTION_CONFIG_KEYS),
   each from a variable or a local;
6. the policy statements (local.policy_statements, by feature) grant every permission of every
   operation in deploy/permissions.json, in the statements of the operation's feature or of
   `always`, and no statement of a feature grants a permission of the table that no operation of
   that feature needs (least privilege); with the function's client modules importable
   (backup_fn.clients.core, .notifications, .monitoring), the table's operations are exactly
   their OPERATIONS.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import yaml
from lark import Token, Tree

from backup_fn.settings import OPERATOR_KEYS

DEPLOY = Path(__file__).resolve().parent
STACK = DEPLOY / "terraform"
SNAPSHOT_DIR = DEPLOY / "provider-snapshot"
PERMISSIONS = DEPLOY / "permissions.json"

RM_FILLED = frozenset({"tenancy_ocid", "compartment_ocid", "region", "current_user_ocid"})
# Resource-level meta-arguments and blocks every resource accepts; not in the provider's pages.
META = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle", "timeouts", "provisioner", "connection"})
# Reference roots that are not declarations.
BUILTIN_ROOTS = frozenset({"count", "each", "self", "path", "terraform"})
CLIENT_SERVICES = ("core", "notifications", "monitoring")

# Every config key an operator sets, read from the function's own settings: the stack must set each.
FUNCTION_CONFIG_KEYS = OPERATOR_KEYS

RM_TYPES_FOR_TF = {
    "string": {"string", "password", "enum"},
    "number": {"number", "integer", "enum"},
    "bool": {"boolean"},
}

# The two expressions of locals.tf the checks rely on: only non-empty config values, only enabled features' statements.
FUNCTION_CONFIG_EXPRESSION = '{for key, value in local.function_config_values : key => value if value != ""}'
POLICY_EXPRESSION = "flatten([for feature, statements in local.policy_statements : statements if local.policy_features[feature]])"

STATEMENT = re.compile(
    r"^Allow (?P<subject>dynamic-group \S+|service \S+|any-user|group \S+) to (?P<verb>inspect|read|use|manage) "
    r"(?P<resource_type>[a-z-]+) in (?P<location>compartment id \S+|compartment \S+|tenancy)(?: where (?P<condition>.+))?$"
)
PERMISSION_CONDITION = re.compile(r"request\.permission\s*=\s*'([A-Z_]+)'")


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class Stack:
    directory: Path
    parsed: dict[str, dict[str, Any]] = field(default_factory=dict)
    trees: dict[str, Tree[Token]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def blocks(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, doc in self.parsed.items():
            for block in doc.get(kind, []):
                yield name, block

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {unquote(label): body for _, block in self.blocks("variable") for label, body in block.items() if not label.startswith("__")}

    @property
    def locals(self) -> dict[str, Any]:
        return {key: value for _, block in self.blocks("locals") for key, value in block.items() if not key.startswith("__")}

    @property
    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._labelled("resource")

    @property
    def data_sources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._labelled("data")

    @property
    def modules(self) -> set[str]:
        return {unquote(label) for _, block in self.blocks("module") for label in block if not label.startswith("__")}

    @property
    def outputs(self) -> set[str]:
        return {unquote(label) for _, block in self.blocks("output") for label in block if not label.startswith("__")}

    def _labelled(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for _, block in self.blocks(kind):
            for type_label, named in block.items():
                if type_label.startswith("__"):
                    continue
                for name_label, body in named.items():
                    if not name_label.startswith("__"):
                        found[(unquote(type_label), unquote(name_label))] = body
        return found


def unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def load_stack(directory: Path = STACK) -> Stack:
    stack = Stack(directory)
    files = sorted(directory.glob("*.tf"))
    if not files:
        stack.problems.append(f"{directory}: no .tf files")
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            stack.parsed[path.name] = hcl2.loads(text)
            stack.trees[path.name] = hcl2.parses_to_tree(text)
        except Exception as exc:  # python-hcl2 raises lark's exceptions, whose classes vary
            stack.problems.append(f"{path.name}: does not parse: {str(exc).splitlines()[0]}")
    return stack


def load_snapshot(directory: Path = SNAPSHOT_DIR) -> dict[str, Any]:
    snapshots = sorted(directory.glob("oci-provider-*.json"))
    if len(snapshots) != 1:
        raise SystemExit(f"{directory}: expected exactly one oci-provider-<version>.json, found {len(snapshots)}")
    snapshot: dict[str, Any] = json.loads(snapshots[0].read_text(encoding="utf-8"))
    return snapshot


def load_permissions(path: Path = PERMISSIONS) -> dict[str, Any]:
    table: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    return table


# --------------------------------------------------------------------------------------------
# References


def _name(node: Tree[Token] | Token) -> str | None:
    """The text of an identifier node."""
    if isinstance(node, Tree) and node.data == "identifier" and node.children:
        return str(node.children[0])
    return None


def _chain(node: Tree[Token]) -> list[str] | None:
    """`a.b[0].c` → ["a", "b", "c"]; None when the expression is not a traversal of a name."""
    if node.data == "expr_term":
        if len(node.children) != 1 or not isinstance(node.children[0], Tree):
            return None
        node = node.children[0]
    name = _name(node)
    if name is not None:
        return [name]
    if node.data in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
        base_node = node.children[0]
        if not isinstance(base_node, Tree):
            return None
        base = _chain(base_node)
        if base is None:
            return None
        for step in node.children[1:]:
            if isinstance(step, Tree):
                base.extend(n for sub in _topdown(step) if sub.data == "get_attr" for n in _attr_names(sub))
        return base
    return None


def _topdown(node: Tree[Token]) -> Iterator[Tree[Token]]:
    yield node
    for child in node.children:
        if isinstance(child, Tree):
            yield from _topdown(child)


def _attr_names(get_attr: Tree[Token]) -> list[str]:
    return [n for child in get_attr.children if isinstance(child, Tree) and (n := _name(child)) is not None]


def references(tree: Tree[Token]) -> set[tuple[str, ...]]:
    """Every traversal of two names or more in the tree (prefixes of longer ones included)."""
    found: set[tuple[str, ...]] = set()
    for node in tree.iter_subtrees():
        if node.data in ("expr_term", "get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
            chain = _chain(node)
            if chain is not None and len(chain) >= 2:
                found.add(tuple(chain))
    return found


def local_names(tree: Tree[Token]) -> set[str]:
    """Names that are not declarations: for-expression variables and dynamic block iterators."""
    names: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data in ("for_intro", "template_for_start"):
            names.update(n for child in node.children if isinstance(child, Tree) and (n := _name(child)) is not None)
        if node.data == "block" and _name(node.children[0]) == "dynamic":
            label = next((c for c in node.children[1:] if isinstance(c, Tree) and c.data == "string"), None)
            if label is not None:
                names.add("".join(str(t) for sub in label.iter_subtrees() if sub.data == "string_part" for t in sub.children))
    return names


def check_references(stack: Stack, snapshot: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    variables, locals_, resources, data_sources, modules = (
        set(stack.variables),
        set(stack.locals),
        set(stack.resources),
        set(stack.data_sources),
        stack.modules,
    )
    resource_types = {t for t, _ in resources}
    used_vars: set[str] = set()
    used_locals: set[str] = set()
    for file, tree in stack.trees.items():
        ignored = BUILTIN_ROOTS | local_names(tree)
        for chain in sorted(references(tree)):
            root, second = chain[0], chain[1]
            where = f"{file}: {'.'.join(chain)}"
            if root == "var":
                used_vars.add(second)
                if second not in variables:
                    problems.append(f"{where}: no variable {second!r}")
            elif root == "local":
                used_locals.add(second)
                if second not in locals_:
                    problems.append(f"{where}: no local {second!r}")
            elif root == "module":
                if second not in modules:
                    problems.append(f"{where}: no module {second!r}")
            elif root == "data":
                if len(chain) >= 3 and (second, chain[2]) not in data_sources:
                    problems.append(f"{where}: no data source {second}.{chain[2]}")
            elif root in resource_types or root.startswith("oci_"):
                if (root, second) not in resources:
                    problems.append(f"{where}: no resource {root}.{second}")
                elif len(chain) >= 3:
                    schema = snapshot["resources"].get(root)
                    if schema is not None and chain[2] not in set(schema["arguments"]) | set(schema["attributes"]):
                        problems.append(f"{where}: {root} has no argument or attribute {chain[2]!r}")
            elif root not in ignored:
                problems.append(f"{where}: unknown reference")
    problems += [f"variable {name!r} is declared but never used" for name in sorted(variables - used_vars)]
    problems += [f"local {name!r} is defined but never used" for name in sorted(locals_ - used_locals)]
    return problems


# --------------------------------------------------------------------------------------------
# Provider arguments


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) and item.get("__is_block__") for item in value)


def _check_body(where: str, body: dict[str, Any], arguments: dict[str, Any], top: bool) -> list[str]:
    problems: list[str] = []
    present: set[str] = set()
    for key, value in body.items():
        if key.startswith("__") or (top and key in META):
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, spec in dynamic.items():
                    if label.startswith("__"):
                        continue
                    name = unquote(label)
                    present.add(name)
                    problems += _check_nested(f"{where}.{name} (dynamic)", name, spec.get("content", []), arguments)
            continue
        present.add(key)
        if _is_block(value):
            problems += _check_nested(f"{where}.{key}", key, value, arguments)
        elif key not in arguments:
            problems.append(f"{where}: no argument {key!r} in the provider's documentation")
        elif arguments[key]["arguments"]:
            problems.append(f"{where}: {key!r} is a nested block in the provider, written here as an argument")
    for name, spec in arguments.items():
        if spec["required"] and name not in present:
            problems.append(f"{where}: required argument {name!r} is missing")
    return problems


def _check_nested(where: str, key: str, blocks: list[dict[str, Any]], arguments: dict[str, Any]) -> list[str]:
    if key not in arguments:
        return [f"{where}: no nested block {key!r} in the provider's documentation"]
    nested = arguments[key]["arguments"]
    if not nested:
        return [f"{where}: {key!r} is an argument in the provider, written here as a block"]
    problems: list[str] = []
    for block in blocks:
        problems += _check_body(where, block, nested, top=False)
    return problems


def check_provider_arguments(stack: Stack, snapshot: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    known = snapshot["resources"]
    for (rtype, name), body in sorted(stack.resources.items()):
        if rtype not in known:
            problems.append(f"resource {rtype}.{name}: {rtype} is not in the provider snapshot (re-run extract_provider_schema.py)")
            continue
        problems += _check_body(f"{rtype}.{name}", body, known[rtype]["arguments"], top=True)
    for rtype, name in sorted(stack.data_sources):
        problems.append(f"data {rtype}.{name}: data sources are not in the provider snapshot")
    return problems


# --------------------------------------------------------------------------------------------
# Resource Manager schema


def _tf_type(spec: dict[str, Any]) -> str:
    text = str(spec.get("type", "string")).strip("${}")
    return text


def check_schema(stack: Stack, path: Path | None = None) -> list[str]:
    path = path or stack.directory / "schema.yaml"
    if not path.exists():
        return [f"{path.name}: missing"]
    schema = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    if str(schema.get("schemaVersion")) != "1.1.0":
        problems.append(f"{path.name}: schemaVersion must be 1.1.0")
    tf_vars = stack.variables
    rm_vars: dict[str, dict[str, Any]] = schema.get("variables") or {}
    for name in sorted(set(tf_vars) - set(rm_vars) - RM_FILLED):
        problems.append(f"{path.name}: Terraform variable {name!r} is not in variables")
    for name in sorted(set(rm_vars) - set(tf_vars) - RM_FILLED):
        problems.append(f"{path.name}: variable {name!r} is not a Terraform variable")

    grouped: dict[str, int] = {}
    hidden: set[str] = set()
    for group in schema.get("variableGroups") or []:
        for name in group.get("variables") or []:
            grouped[name] = grouped.get(name, 0) + 1
            if group.get("visible") is False:
                hidden.add(name)
            if name not in rm_vars and name not in RM_FILLED:
                problems.append(f"{path.name}: group {group.get('title')!r} lists {name!r}, which is not in variables")
    for name in sorted(rm_vars):
        if grouped.get(name, 0) != 1:
            problems.append(f"{path.name}: variable {name!r} is in {grouped.get(name, 0)} variable groups, not exactly one")
    for name in sorted(RM_FILLED & set(grouped)):
        if name not in hidden:
            problems.append(f"{path.name}: {name!r} is filled by Resource Manager; list it only in a hidden group")

    for name, spec in sorted(rm_vars.items()):
        if name not in tf_vars or name in RM_FILLED:
            continue
        tf = tf_vars[name]
        tf_type = _tf_type(tf)
        rm_type = str(spec.get("type", ""))
        allowed = RM_TYPES_FOR_TF.get(tf_type, set())
        if rm_type not in allowed and not (tf_type == "string" and rm_type.startswith("oci:")):
            problems.append(f"{path.name}: {name!r} has type {rm_type!r}, which does not fit Terraform's {tf_type!r}")
        has_default = "default" in tf
        if bool(spec.get("required", False)) == has_default:
            default = "has" if has_default else "has no"
            problems.append(f"{path.name}: {name!r} required={spec.get('required', False)} but the Terraform variable {default} default")
        visible = spec.get("visible")
        if isinstance(visible, str) and visible not in tf_vars:
            problems.append(f"{path.name}: {name!r} is visible when {visible!r}, which is not a variable")
    for name in sorted(set(schema.get("outputs") or {}) - stack.outputs):
        problems.append(f"{path.name}: output {name!r} is not a Terraform output")
    return problems


# --------------------------------------------------------------------------------------------
# Function config


def config_keys(stack: Stack) -> dict[str, Any]:
    values: dict[str, Any] = stack.locals.get("function_config_values", {})
    return values


def check_function_config(stack: Stack) -> list[str]:
    problems: list[str] = []
    functions = [body for (rtype, _), body in stack.resources.items() if rtype == "oci_functions_function"]
    if len(functions) != 1:
        return [f"expected one oci_functions_function, found {len(functions)}"]
    if functions[0].get("config") != "${local.function_config}":
        problems.append("oci_functions_function: config must be local.function_config")
    config = config_keys(stack)
    if not isinstance(config, dict) or not config:
        return [*problems, "locals: function_config_values must be a map of config key to value"]
    for key in sorted(FUNCTION_CONFIG_KEYS - set(config)):
        problems.append(f"function config: key {key} is not set from a variable")
    for key in sorted(set(config) - FUNCTION_CONFIG_KEYS):
        problems.append(f"function config: {key} is not a key the function reads (add it to FUNCTION_CONFIG_KEYS if it is)")
    for key, value in sorted(config.items()):
        if not (isinstance(value, str) and re.fullmatch(r"\$\{(var|local)\.[a-z0-9_]+\}", value)):
            problems.append(f"function config: {key} must come from a variable or a local, not {value!r}")
    if stack.locals.get("function_config") != "${" + FUNCTION_CONFIG_EXPRESSION + "}":
        problems.append(f"locals: function_config must keep only non-empty values: {FUNCTION_CONFIG_EXPRESSION}")
    return problems


# --------------------------------------------------------------------------------------------
# Policies


@dataclass(frozen=True)
class Statement:
    text: str
    subject: str
    verb: str
    resource_type: str
    permissions: frozenset[str]  # request.permission values the condition allows; empty: no such condition


def _without_interpolations(template: str) -> str:
    """Replace each `${…}` of a Terraform template with `<expr>`, braces and quotes inside included."""
    out: list[str] = []
    i = 0
    while i < len(template):
        if template.startswith("${", i):
            depth, j, quote = 1, i + 2, False
            while j < len(template) and depth:
                char = template[j]
                if char == '"' and template[j - 1] != "\\":
                    quote = not quote
                elif not quote and char == "{":
                    depth += 1
                elif not quote and char == "}":
                    depth -= 1
                j += 1
            out.append("<expr>")
            i = j
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def _resolve_locals(template: str, locals_: dict[str, Any]) -> str:
    """Inline `${local.X}` where local X is itself a plain string template (e.g. the policy subject)."""

    def inline(match: re.Match[str]) -> str:
        value = locals_.get(match[1])
        if isinstance(value, str) and value.startswith('"') and value.endswith('"'):
            return _resolve_locals(unquote(value), locals_)
        return match[0]

    return re.sub(r"\$\{local\.([a-z0-9_]+)\}", inline, template)


def parse_statement(template: str, locals_: dict[str, Any] | None = None) -> Statement | None:
    text = _without_interpolations(_resolve_locals(unquote(template), locals_ or {})).strip()
    match = STATEMENT.match(text)
    if match is None:
        return None
    condition = match["condition"] or ""
    return Statement(text, match["subject"], match["verb"], match["resource_type"], frozenset(PERMISSION_CONDITION.findall(condition)))


def policy_statements(stack: Stack) -> tuple[dict[str, list[Statement]], list[str]]:
    problems: list[str] = []
    raw = stack.locals.get("policy_statements")
    features = stack.locals.get("policy_features")
    if not isinstance(raw, dict) or not isinstance(features, dict):
        return {}, ["locals: policy_statements and policy_features must be maps keyed by feature"]
    if set(raw) != set(features):
        problems.append(f"locals: policy_statements features {sorted(raw)} differ from policy_features {sorted(features)}")
    if features.get("always") is not True:
        problems.append("locals: policy_features.always must be true")
    parsed: dict[str, list[Statement]] = {}
    for feature, templates in raw.items():
        parsed[feature] = []
        for template in templates:
            statement = parse_statement(template, stack.locals)
            if statement is None:
                problems.append(f"policy ({feature}): cannot read statement {unquote(template)!r}")
            else:
                parsed[feature].append(statement)
    if stack.locals.get("policy") != "${" + POLICY_EXPRESSION + "}":
        problems.append("locals: policy must be the statements of the enabled features of local.policy_statements")
    return parsed, problems


def grants(statement: Statement, need: dict[str, str], table: dict[str, Any]) -> bool:
    if not statement.subject.startswith("dynamic-group "):
        return False
    covered = {statement.resource_type, *table["families"].get(statement.resource_type, [])}
    if need["resource_type"] not in covered:
        return False
    verbs: list[str] = table["verbs"]
    if verbs.index(statement.verb) < verbs.index(need["verb"]):
        return False
    return not statement.permissions or need["permission"] in statement.permissions


def check_permissions(stack: Stack, table: dict[str, Any]) -> list[str]:
    statements, problems = policy_statements(stack)
    if not statements:
        return problems
    needed_by_feature: dict[str, set[str]] = {}
    for service, operations in table["operations"].items():
        for operation, spec in operations.items():
            # An operation used by several features (publishing to two topics) names them all: each must grant it.
            for feature in [spec["feature"]] if isinstance(spec["feature"], str) else spec["feature"]:
                if feature not in statements:
                    problems.append(f"permissions.json: {service}.{operation} names feature {feature!r}, which has no policy statements")
                    continue
                candidates = statements["always"] + (statements[feature] if feature != "always" else [])
                for need in spec["permissions"]:
                    needed_by_feature.setdefault(feature, set()).add(need["permission"])
                    if not any(grants(s, need, table) for s in candidates):
                        problems.append(
                            f"policy: {service}.{operation} needs {need['permission']} ({need['verb']} {need['resource_type']}),"
                            f" granted by no statement of {feature!r}" + (" or 'always'" if feature != "always" else "")
                        )
    every_need = {need["permission"]: need for ops in table["operations"].values() for spec in ops.values() for need in spec["permissions"]}
    for feature, feature_statements in statements.items():
        for statement in feature_statements:
            for permission, need in every_need.items():
                if grants(statement, need, table) and permission not in needed_by_feature.get(feature, set()):
                    problems.append(f"policy ({feature}): {statement.text!r} grants {permission}, which no operation of {feature!r} needs")
    return problems


def client_operations() -> dict[str, set[str]] | None:
    """OPERATIONS of the function's client modules by service; None when backup_fn.clients does not exist."""
    if importlib.util.find_spec("backup_fn") is None or importlib.util.find_spec("backup_fn.clients") is None:
        return None
    found: dict[str, set[str]] = {}
    for service in CLIENT_SERVICES:
        module = importlib.import_module(f"backup_fn.clients.{service}")
        found[service] = {operation.name for operation in module.OPERATIONS}
    return found


def check_operations(table: dict[str, Any], operations: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    for service in sorted(set(operations) | set(table["operations"])):
        in_code = operations.get(service, set())
        in_table = set(table["operations"].get(service, {}))
        missing, stale = in_code - in_table, in_table - in_code
        problems += [f"permissions.json: {service}.{op} is called by the function but not in the table" for op in sorted(missing)]
        problems += [f"permissions.json: {service}.{op} is in the table but the function never calls it" for op in sorted(stale)]
    return problems


# --------------------------------------------------------------------------------------------


def run(directory: Path = STACK) -> tuple[list[str], list[str]]:
    """(problems, notes) of every check."""
    notes: list[str] = []
    stack = load_stack(directory)
    snapshot = load_snapshot()
    table = load_permissions()
    problems = list(stack.problems)
    if problems:
        return problems, notes
    problems += check_references(stack, snapshot)
    problems += check_provider_arguments(stack, snapshot)
    problems += check_schema(stack)
    problems += check_function_config(stack)
    problems += check_permissions(stack, table)
    operations = client_operations()
    if operations is None:
        notes.append("backup_fn.clients does not exist: the permissions table was not compared with the function's OPERATIONS")
    else:
        problems += check_operations(table, operations)
    notes.append(f"provider snapshot: oracle/oci {snapshot['version']} ({len(snapshot['resources'])} resource types)")
    return problems, notes


def main() -> int:
    sys.path.insert(0, str(DEPLOY.parent))
    problems, notes = run()
    for note in notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"check_stack: {len(problems)} problem(s) in {STACK.relative_to(DEPLOY.parent)}")
    return 1 if problems else 0


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key written twice in the table would silently hide its first entry from every check."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise SystemExit(f"permissions.json: {', '.join(repeated)} written more than once")
    return dict(pairs)


if __name__ == "__main__":
    raise SystemExit(main())
