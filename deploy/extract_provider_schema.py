"""Extract the documented arguments of OCI Terraform provider resources into a JSON snapshot.

The snapshot is what `deploy/check_stack.py` holds every resource block of the stack against, so
the stack's argument names are checked without the terraform binary or the provider plugin.

It reads the provider's own documentation, `website/docs/r/<name>.html.markdown`, from a local
checkout of github.com/oracle/terraform-provider-oci: either a work tree, or a bare/mirror git
directory together with `--ref <release tag>`. Only the resources named (by default: every
resource type the stack in deploy/terraform uses) are written.

    python deploy/extract_provider_schema.py /path/to/terraform-provider-oci --ref v8.28.0 \\
        --out deploy/provider-snapshot/oci-provider-8.28.0.json

The documented top-level arguments are cross-checked against the resource's Go schema
(`internal/service/*/<name>_resource.go`, the entries of its top-level `Schema` map that are
Required or Optional): a documented argument missing from the code, or a required flag that
differs, stops the extraction; arguments the code has but the docs do not are recorded as
`undocumented_arguments` (not allowed by the checker, since nothing documents them).

Each resource gets:
  arguments:  {name: {"required": bool, "arguments": {...nested block arguments...}}}
              an entry with nested arguments is a nested block (`name { ... }`), the others are
              plain arguments (`name = value`);
  attributes: the names the resource exports (`oci_x.y.<attribute>` references).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

DOCS_DIR = "website/docs/r"
# `* `name` - (Required) ...`, `* `name` - (Optional) ...`, `(Required when type=X)`, `(Applicable when ...)`.
# Enumerated values are also written as bullets (`* `EMAIL``, `* `RAW` - Raw JSON blob`): they are
# upper case and carry no parenthesised marker, so the pattern skips them.
ARGUMENT = re.compile(r"^(?P<indent>[ \t]*)\* `(?P<name>[a-z][a-z0-9_]*)` - \((?P<marker>(?:Required|Optional|Applicable)[^)]*)\)")
ATTRIBUTE = re.compile(r"^\* `(?P<name>[a-z][a-z0-9_]*)` - ")


def _depth(indent: str) -> int:
    """Nesting depth of a bullet: the docs indent with tabs, sometimes with four spaces."""
    return len(indent.expandtabs(4)) // 4


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("## "):
            inside = line.strip() == f"## {title}"
            continue
        if inside:
            out.append(line)
    return out


def parse_arguments(text: str) -> dict[str, Any]:
    """The argument tree of one resource page's "Argument Reference" section."""
    root: dict[str, Any] = {}
    # stack[d] is the argument map that bullets of depth d go into
    stack: list[dict[str, Any]] = [root]
    for line in _section(text, "Argument Reference"):
        match = ARGUMENT.match(line)
        if not match:
            continue
        depth = _depth(match["indent"])
        if depth >= len(stack):
            # a bullet deeper than the previous one's children: the docs skipped a level; attach it
            # to the deepest map there is rather than invent a parent
            depth = len(stack) - 1
        del stack[depth + 1 :]
        entry: dict[str, Any] = {"required": match["marker"] == "Required", "arguments": {}}  # not "Required when type=X"
        stack[depth][match["name"]] = entry
        stack.append(entry["arguments"])
    return root


def parse_attributes(text: str) -> list[str]:
    names = {m["name"] for line in _section(text, "Attributes Reference") if (m := ATTRIBUTE.match(line))}
    return sorted(names | {"id"})


def read_file(checkout: Path, ref: str | None, relative: str) -> str:
    if ref is None:
        return (checkout / relative).read_text(encoding="utf-8")
    return subprocess.run(
        ["git", "--git-dir", str(checkout), "show", f"{ref}:{relative}"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def read_doc(checkout: Path, ref: str | None, resource: str) -> str:
    return read_file(checkout, ref, f"{DOCS_DIR}/{resource.removeprefix('oci_')}.html.markdown")


def go_schema_file(checkout: Path, ref: str | None, resource: str) -> str:
    suffix = f"/{resource.removeprefix('oci_')}_resource.go"
    if ref is None:
        names = [str(p.relative_to(checkout)) for p in checkout.glob(f"internal/service/*/{suffix[1:]}")]
    else:
        names = subprocess.run(
            ["git", "--git-dir", str(checkout), "ls-tree", "-r", "--name-only", ref, "internal/service"],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    found = [name for name in names if name.endswith(suffix)]
    if len(found) != 1:
        raise SystemExit(f"{resource}: expected one internal/service/*{suffix}, found {found}")
    return found[0]


GO_ENTRY = re.compile(r'^\t\t\t"(\w+)": \{\n(.*?)^\t\t\t\},', re.MULTILINE | re.DOTALL)


def go_arguments(source: str) -> dict[str, bool]:
    """Top-level arguments of a resource's Go schema: name → required."""
    body = source[source.index("Schema: map[string]*schema.Schema{") :]
    found: dict[str, bool] = {}
    for match in GO_ENTRY.finditer(body):
        flags = re.findall(r"^\t\t\t\t(Required|Optional):\s+true", match[2], re.MULTILINE)
        if flags:
            found[match[1]] = "Required" in flags
    return found


def cross_check(resource: str, documented: dict[str, Any], code: dict[str, bool]) -> list[str]:
    """Arguments the code has but the docs do not; stops on a documented one the code lacks."""
    for name, spec in documented.items():
        if name not in code:
            raise SystemExit(f"{resource}: documented argument {name!r} is not in the Go schema")
        if spec["required"] != code[name]:
            raise SystemExit(f"{resource}: {name!r} is required={spec['required']} in the docs, {code[name]} in the Go schema")
    return sorted(set(code) - set(documented))


def resolve_commit(checkout: Path, ref: str | None) -> str | None:
    if ref is None:
        return None
    return subprocess.run(
        ["git", "--git-dir", str(checkout), "rev-parse", f"{ref}^{{commit}}"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def stack_resource_types(stack_dir: Path) -> list[str]:
    pattern = re.compile(r'^\s*(?:resource|data)\s+"(oci_[a-z0-9_]+)"', re.MULTILINE)
    found: set[str] = set()
    for tf in sorted(stack_dir.glob("*.tf")):
        found.update(pattern.findall(tf.read_text(encoding="utf-8")))
    return sorted(found)


def extract(checkout: Path, ref: str | None, resources: list[str], version: str) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "provider": "oracle/oci",
        "version": version,
        "source": {
            "repository": "github.com/oracle/terraform-provider-oci",
            "ref": ref,
            "commit": resolve_commit(checkout, ref),
            "files": f"{DOCS_DIR}/<name>.html.markdown",
        },
        "resources": {},
    }
    for resource in sorted(resources):
        text = read_doc(checkout, ref, resource)
        arguments = parse_arguments(text)
        if not arguments:
            raise SystemExit(f"{resource}: no arguments found in its documentation page")
        go_file = go_schema_file(checkout, ref, resource)
        undocumented = cross_check(resource, arguments, go_arguments(read_file(checkout, ref, go_file)))
        snapshot["resources"][resource] = {
            "arguments": arguments,
            "attributes": parse_attributes(text),
            "go_schema": {"file": go_file, "undocumented_arguments": undocumented},
        }
    return snapshot


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path, help="terraform-provider-oci work tree, or git directory with --ref")
    parser.add_argument("--ref", help="release tag to read from a git directory, e.g. v8.28.0")
    parser.add_argument("--version", help="provider version recorded in the snapshot (default: --ref without the v)")
    parser.add_argument("--resource", action="append", default=[], help="resource type; repeat (default: those the stack uses)")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: stdout)")
    args = parser.parse_args(argv)
    version = args.version or (args.ref or "").removeprefix("v")
    if not version:
        parser.error("--version is needed when reading a work tree without --ref")
    resources = args.resource or stack_resource_types(here / "terraform")
    snapshot = extract(args.checkout, args.ref, resources, version)
    text = json.dumps(snapshot, indent=1, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
