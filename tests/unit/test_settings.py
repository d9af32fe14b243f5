import pytest

from backup_fn.errors import InvalidConfiguration
from backup_fn.settings import load_settings

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy00000000000000000000000000000000000001"


def test_defaults_with_an_empty_config():
    settings = load_settings({})
    assert settings.backup_type == "INCREMENTAL"
    assert settings.allowed_compartment_ids is None
    assert settings.core_endpoint is None
    assert settings.opt_out_tag == "backup-opt-out"


def test_values_are_read_and_normalised():
    settings = load_settings(
        {
            "BACKUP_TYPE": " full ",
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
