"""The deploy stack's checker: the real stack passes, and each kind of mistake is caught."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from backup_fn.settings import LOCAL_ONLY_KEYS, PLATFORM_KEYS
from deploy import check_stack
from deploy.extract_provider_schema import cross_check, go_arguments, parse_arguments, parse_attributes, stack_resource_types

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    target = tmp_path / "terraform"
    shutil.copytree(check_stack.STACK, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(directory: Path) -> list[str]:
    problems, _ = check_stack.run(directory)
    return problems


def test_the_stack_passes_every_check() -> None:
    problems, notes = check_stack.run()
    assert problems == []
    assert any("8.28.0" in note for note in notes)


def test_a_file_that_does_not_parse_is_reported(stack_copy: Path) -> None:
    (stack_copy / "broken.tf").write_text('resource "oci_ons_notification_topic" "x" {\n  name = \n', encoding="utf-8")
    assert any(p.startswith("broken.tf: does not parse") for p in problems_of(stack_copy))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("image              = var.function_image", "image              = var.function_imag", "no variable 'function_imag'"),
        ("config             = local.function_config", "config             = local.function_confi", "no local 'function_confi'"),
        ("oci_functions_application.backups.id", "oci_functions_application.other.id", "no resource oci_functions_application.other"),
        (
            "oci_functions_function.backup.invoke_endpoint",
            "oci_functions_function.backup.invoke_url",
            "has no argument or attribute 'invoke_url'",
        ),
    ],
)
def test_unresolved_references_are_reported(stack_copy: Path, old: str, new: str, expected: str) -> None:
    file = next(p for p in stack_copy.glob("*.tf") if old in p.read_text(encoding="utf-8"))
    edit(file, old, new)
    assert any(expected in p for p in problems_of(stack_copy)), problems_of(stack_copy)


def test_an_unused_variable_is_reported(stack_copy: Path) -> None:
    with (stack_copy / "variables.tf").open("a", encoding="utf-8") as f:
        f.write('\nvariable "spare" {\n  type    = string\n  default = ""\n}\n')
    problems = problems_of(stack_copy)
    assert "variable 'spare' is declared but never used" in problems
    assert any("'spare' is not in variables" in p for p in problems)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "function.tf",
            "  memory_in_mbs      = var.function_memory_in_mbs\n",
            "  memory_mb = var.function_memory_in_mbs\n",
            "no argument 'memory_mb'",
        ),
        ("function.tf", "  memory_in_mbs      = var.function_memory_in_mbs\n", "", "required argument 'memory_in_mbs' is missing"),
        ("function.tf", 'strategy = "CONSTANT"', 'strategy = "CONSTANT"\n      units = 1', "no argument 'units'"),
        (
            "gateway.tf",
            'type        = "ORACLE_FUNCTIONS_BACKEND"',
            'kind        = "ORACLE_FUNCTIONS_BACKEND"',
            "required argument 'type' is missing",
        ),
        ("events.tf", "    action {", "    act {", "no nested block 'act'"),
        ("iam.tf", "  statements     = local.policy", "  statements     = local.policy\n  rules {\n  }", "no nested block 'rules'"),
    ],
)
def test_arguments_the_provider_does_not_have_are_reported(stack_copy: Path, file: str, old: str, new: str, expected: str) -> None:
    edit(stack_copy / file, old, new)
    assert any(expected in p for p in problems_of(stack_copy)), problems_of(stack_copy)


def test_schema_and_variables_must_match_both_ways(stack_copy: Path) -> None:
    edit(stack_copy / "schema.yaml", "  keep_days:\n    type: string\n", "  keep_dayz:\n    type: string\n")
    problems = problems_of(stack_copy)
    assert "schema.yaml: Terraform variable 'keep_days' is not in variables" in problems
    assert "schema.yaml: variable 'keep_dayz' is not a Terraform variable" in problems


def test_resource_manager_variables_are_exempt_but_hidden(stack_copy: Path) -> None:
    # current_user_ocid is in schema.yaml but not declared in Terraform: allowed
    assert not any("current_user_ocid" in p for p in problems_of(stack_copy))
    edit(stack_copy / "schema.yaml", "    visible: false\n", "")
    assert any("filled by Resource Manager" in p for p in problems_of(stack_copy))


def test_schema_required_and_types_follow_terraform(stack_copy: Path) -> None:
    edit(stack_copy / "schema.yaml", '    pattern: "^ocid1\\\\.subnet\\\\."\n    required: true\n', "    required: false\n")
    edit(stack_copy / "schema.yaml", "  enable_invoke_log:\n    type: boolean", "  enable_invoke_log:\n    type: number")
    problems = problems_of(stack_copy)
    assert any("'subnet_id' required=False but the Terraform variable has no default" in p for p in problems)
    assert any("'enable_invoke_log' has type 'number'" in p for p in problems)


def test_every_config_key_comes_from_a_variable(stack_copy: Path) -> None:
    edit(stack_copy / "locals.tf", "    LOG_LEVEL                  = var.log_level\n", "")
    edit(stack_copy / "variables.tf", 'variable "log_level"', 'variable "log_level_unused"')
    problems = problems_of(stack_copy)
    assert "function config: key LOG_LEVEL is not set from a variable" in problems


def test_an_uncovered_operation_is_reported(stack_copy: Path) -> None:
    edit(stack_copy / "locals.tf", "'VOLUME_BACKUP_READ', request.permission = 'VOLUME_BACKUP_COPY', ", "'VOLUME_BACKUP_READ', ")
    problems = problems_of(stack_copy)
    assert any(p.startswith("policy: core.CopyVolumeBackup needs VOLUME_BACKUP_COPY") for p in problems), problems


def test_a_permission_granted_beyond_its_feature_is_reported(stack_copy: Path) -> None:
    edit(stack_copy / "locals.tf", " where request.permission = 'VOLUME_BACKUP_CREATE'\"", '"')
    problems = problems_of(stack_copy)
    assert any("grants VOLUME_BACKUP_DELETE, which no operation of 'always' needs" in p for p in problems), problems


def test_statements_are_read_with_the_subject_inlined() -> None:
    statement = check_stack.parse_statement(
        '"Allow ${local.s} to manage volume-backups in compartment id ${var.c}'
        " where any {request.permission = 'A', request.permission = 'B'}\"",
        {"s": '"dynamic-group ${oci_identity_dynamic_group.f.name}"'},
    )
    assert statement is not None
    assert (statement.subject, statement.verb, statement.resource_type) == ("dynamic-group <expr>", "manage", "volume-backups")
    assert statement.permissions == {"A", "B"}


def test_permissions_table_against_operations() -> None:
    table = check_stack.load_permissions()
    operations = {service: set(ops) for service, ops in table["operations"].items()}
    assert check_stack.check_operations(table, operations) == []
    operations["core"].add("DetachVolume")
    operations["core"].discard("GetVolume")
    assert check_stack.check_operations(table, operations) == [
        "permissions.json: core.DetachVolume is called by the function but not in the table",
        "permissions.json: core.GetVolume is in the table but the function never calls it",
    ]


def test_the_table_matches_the_function_client_modules() -> None:
    """The operations come from the code: backup_fn.clients.<service>.OPERATIONS (objects with .name)."""
    if importlib.util.find_spec("backup_fn.clients") is None:
        pytest.skip("backup_fn.clients is not on this branch yet")
    operations = check_stack.client_operations()
    assert operations is not None
    assert check_stack.check_operations(check_stack.load_permissions(), operations) == []


def test_readme_config_keys_are_all_set_by_the_stack() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    keys = {key for row in re.findall(r"^\| (.+?) \|", section, re.MULTILINE) for key in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert keys, "no config table in README's Configuration section"
    assert keys - LOCAL_ONLY_KEYS - PLATFORM_KEYS <= check_stack.FUNCTION_CONFIG_KEYS


def test_the_snapshot_covers_exactly_the_stack_resource_types() -> None:
    snapshot = check_stack.load_snapshot()
    assert sorted(snapshot["resources"]) == stack_resource_types(check_stack.STACK)
    assert snapshot["source"]["ref"] == f"v{snapshot['version']}"
    assert re.fullmatch(r"[0-9a-f]{40}", snapshot["source"]["commit"])


def test_the_extractor_reads_nested_arguments_and_skips_enumerations() -> None:
    page = "\n".join(
        [
            "## Argument Reference",
            "* `topic_id` - (Required) The topic.",
            "* `protocol` - (Required) The protocol.",
            "\t* `EMAIL`",
            "* `spec` - (Optional) (Updatable) A block.",
            "\t* `routes` - (Optional) Routes.",
            "\t\t* `backend` - (Required) Backend.",
            "\t\t\t    * `url` - (Required when type=HTTP_BACKEND) URL.",
            "* `format` - (Optional) The format:",
            "\t* `RAW` - Raw JSON blob.",
            "## Attributes Reference",
            "* `state` - The state.",
        ]
    )
    arguments = parse_arguments(page)
    assert set(arguments) == {"topic_id", "protocol", "spec", "format"}
    assert arguments["protocol"] == {"required": True, "arguments": {}}
    backend = arguments["spec"]["arguments"]["routes"]["arguments"]["backend"]
    assert backend["required"] is True
    assert backend["arguments"]["url"] == {"required": False, "arguments": {}}
    assert parse_attributes(page) == ["id", "state"]


def test_permissions_table_is_well_formed() -> None:
    table = json.loads(check_stack.PERMISSIONS.read_text(encoding="utf-8"))
    for ops in table["operations"].values():
        for spec in ops.values():
            for need in spec["permissions"]:
                assert need["verb"] in table["verbs"]
                assert re.fullmatch(r"[A-Z_]+", need["permission"])


def test_the_extractor_cross_checks_the_go_schema() -> None:
    source = "\n".join(
        [
            "func R() *schema.Resource {",
            "\treturn &schema.Resource{",
            "\t\tSchema: map[string]*schema.Schema{",
            '\t\t\t"topic_id": {',
            "\t\t\t\tType:     schema.TypeString,",
            "\t\t\t\tRequired: true,",
            "\t\t\t},",
            '\t\t\t"delivery_policy": {',
            "\t\t\t\tType:     schema.TypeString,",
            "\t\t\t\tOptional: true,",
            "\t\t\t},",
            '\t\t\t"state": {',
            "\t\t\t\tType:     schema.TypeString,",
            "\t\t\t\tComputed: true,",
            "\t\t\t},",
        ]
    )
    code = go_arguments(source)
    assert code == {"topic_id": True, "delivery_policy": False}
    assert cross_check("oci_x", {"topic_id": {"required": True, "arguments": {}}}, code) == ["delivery_policy"]
    with pytest.raises(SystemExit, match="required=False in the docs"):
        cross_check("oci_x", {"topic_id": {"required": False, "arguments": {}}}, code)
    with pytest.raises(SystemExit, match="not in the Go schema"):
        cross_check("oci_x", {"endpoint": {"required": True, "arguments": {}}}, code)
