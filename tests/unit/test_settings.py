import logging

import pytest

from backup_fn.config_warnings import one_edit_apart
from backup_fn.errors import InvalidConfiguration
from backup_fn.settings import load_settings

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
TOPIC_ID = "ocid1.onstopic.oc1.iad.aaaaaaaabackuptriggers000000000000000000000000000000000002"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy00000000000000000000000000000000000001"


def test_defaults_with_an_empty_config():
    settings = load_settings({})
    assert settings.backup_type == "INCREMENTAL"
    assert settings.allowed_compartment_ids is None
    assert settings.core_endpoint is None
    assert settings.opt_out_tag == "backup-opt-out"


def test_values_are_read_with_whitespace_trimmed():
    settings = load_settings(
        {
            "BACKUP_TYPE": " FULL ",
            "ALLOWED_COMPARTMENT_IDS": f"{PROD}, {TENANCY},",
            "OCI_CORE_ENDPOINT": "http://127.0.0.1:8080",
            "PATH": "/bin",
        }
    )
    assert settings.backup_type == "FULL"
    assert settings.allowed_compartment_ids == frozenset({PROD, TENANCY})
    assert settings.core_endpoint == "http://127.0.0.1:8080"


def test_blank_values_mean_the_default():
    assert load_settings({"BACKUP_TYPE": "", "ALLOWED_COMPARTMENT_IDS": " "}).allowed_compartment_ids is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("BACKUP_TYPE", "DAILY"),
        ("BACKUP_TYPE", "full"),
        ("LOG_LEVEL", "info"),
        ("ALLOWED_COMPARTMENT_IDS", ","),
        ("COPY_TO_REGIONS", "us-phoenix-1,mars-olympus-1"),
        ("ALLOWED_COMPARTMENT_IDS", "prod"),
        ("ALLOWED_COMPARTMENT_IDS", f"{PROD},ocid1.volume.oc1.iad.abc"),
        ("OCI_CORE_ENDPOINT", "iaas.us-ashburn-1.oraclecloud.com"),
        ("DEADLINE_MARGIN_SECONDS", "soon"),
        ("VOLUME_CACHE_SECONDS", "-1"),
        ("LOG_LEVEL", "LOUD"),
        ("OCI_AUTH", "instance_principal"),
    ],
)
def test_invalid_values_fail_naming_the_key(key, value):
    with pytest.raises(InvalidConfiguration) as caught:
        load_settings({key: value})
    assert key in caught.value.message
    assert "Traceback" not in caught.value.message


MARKED = {"MARK_TAG_NAMESPACE": "volume-backup-test"}


def test_copies_to_the_function_s_own_region_are_refused():
    with pytest.raises(InvalidConfiguration) as caught:
        load_settings({"COPY_TO_REGIONS": "us-phoenix-1,us-ashburn-1", "OCI_RESOURCE_PRINCIPAL_REGION": "us-ashburn-1", **MARKED})
    assert "COPY_TO_REGIONS names us-ashburn-1, the function's own region" in caught.value.message
    elsewhere = load_settings({"COPY_TO_REGIONS": "us-phoenix-1", "OCI_RESOURCE_PRINCIPAL_REGION": "us-ashburn-1", **MARKED})
    assert elsewhere.copy_to_regions == ("us-phoenix-1",)


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_key_one_edit_from_a_known_one_is_named_in_a_warning():
    collected = Collected()
    logger = logging.getLogger("backup_fn")
    logger.addHandler(collected)
    try:
        settings = load_settings({"KEEP_LST": "3", "KEEP_DAYZ": "2", "KEEP_LAST_XY": "1", "PATH": "/bin", "HOME": "/root"})
    finally:
        logger.removeHandler(collected)
    warned = collected.lines
    assert "config key KEEP_LST is not one this function reads; did you mean KEEP_LAST?" in warned
    assert "config key KEEP_DAYZ is not one this function reads; did you mean KEEP_DAYS?" in warned
    assert len(warned) == 2
    assert settings.keep_last is None


def test_a_key_whose_feature_is_off_is_named_in_a_warning_with_the_key_that_turns_it_on():
    collected = Collected()
    logger = logging.getLogger("backup_fn")
    logger.addHandler(collected)
    try:
        load_settings({"RESTORE_TESTS_PER_SWEEP": "3", "SWEEP_BATCH_SIZE": "50", "ADOPT_UNMARKED_BEFORE": "2026-01-01T00:00:00Z"})
        load_settings({"SWEEP_BATCH_SIZE": "50", "SWEEP_TOPIC_ID": TOPIC_ID})
    finally:
        logger.removeHandler(collected)
    assert collected.lines == [
        "config key RESTORE_TESTS_PER_SWEEP does nothing without RESTORE_TEST_COMPARTMENT_ID",
        "config key SWEEP_BATCH_SIZE does nothing without SWEEP_TOPIC_ID",
        "config key ADOPT_UNMARKED_BEFORE does nothing without MARK_TAG_NAMESPACE",
    ]


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [("KEEP_LST", "KEEP_LAST", True), ("KEEP_LAST", "KEEP_LAST", False), ("KEEP_LSAT", "KEEP_LAST", True), ("KEEP", "KEEP_LAST", False)],
)
def testone_edit_apart(a, b, apart):
    assert one_edit_apart(a, b) is apart
    assert one_edit_apart(b, a) is apart


@pytest.mark.parametrize("key", ["KEEP_LAST", "KEEP_DAYS", "COPY_TO_REGIONS"])
def test_copies_or_retention_without_a_mark_are_refused_naming_it(key):
    value = "us-phoenix-1" if key == "COPY_TO_REGIONS" else "3"
    with pytest.raises(InvalidConfiguration) as caught:
        load_settings({key: value})
    assert f"{key} needs MARK_TAG_NAMESPACE" in caught.value.message
    assert load_settings({key: value, **MARKED}).mark is not None


@pytest.mark.parametrize(
    ("value", "problem"),
    [("2026-12-01", "names no time zone"), ("yesterday", "is not an RFC 3339 time"), ("2026-12-01T00:00:00", "names no time zone")],
)
def test_adopt_unmarked_before_is_an_exact_time(value, problem):
    with pytest.raises(InvalidConfiguration) as caught:
        load_settings({"ADOPT_UNMARKED_BEFORE": value})
    assert "ADOPT_UNMARKED_BEFORE" in caught.value.message and problem in caught.value.message
    adopted = load_settings({"ADOPT_UNMARKED_BEFORE": "2026-12-01T00:00:00Z"}).adopt_unmarked_before
    assert adopted is not None and adopted.isoformat() == "2026-12-01T00:00:00+00:00"


def test_region_endpoints_are_region_url_pairs():
    settings = load_settings({"OCI_CORE_REGION_ENDPOINTS": "us-phoenix-1=http://127.0.0.1:9/regions/us-phoenix-1"})
    assert settings.core_endpoint_for("us-phoenix-1") == "http://127.0.0.1:9/regions/us-phoenix-1"
    assert settings.core_endpoint_for("eu-frankfurt-1") is None
    for bad in ("us-phoenix-1", "phoenix=http://x", "us-phoenix-1=ftp://x", "us-phoenix-1=http://a,us-phoenix-1=http://b"):
        with pytest.raises(InvalidConfiguration) as caught:
            load_settings({"OCI_CORE_REGION_ENDPOINTS": bad})
        assert "OCI_CORE_REGION_ENDPOINTS" in caught.value.message
