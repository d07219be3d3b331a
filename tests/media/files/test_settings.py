"""Media settings are checked at start-up, in every environment, naming what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from vhs.config import ConfigError, Settings, storage_location


def problems(**values) -> str:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}, values).validate()
    return str(info.value)


def test_the_defaults_start():
    settings = Settings.from_env({})
    settings.validate()
    assert (settings.media_max_file_mb, settings.media_url_ttl_seconds) == (500, 300)
    location = storage_location(settings, "/srv/instance")
    assert (location.kind, location.directory) == ("local", Path("/srv/instance/media"))


def test_environment_variables_are_read_and_typed():
    settings = Settings.from_env(
        {
            "VHS_STORAGE_URL": "s3://vhs-medien/iserlohn",
            "VHS_S3_ENDPOINT_URL": "https://s3.example.de",
            "VHS_S3_REGION": "eu-central-1",
            "VHS_S3_ACCESS_KEY_ID": "AKIA",
            "VHS_S3_SECRET_ACCESS_KEY": "geheim",
            "VHS_MEDIA_MAX_FILE_MB": "750",
            "VHS_MEDIA_URL_TTL_SECONDS": "120",
        }
    )
    settings.validate()
    assert settings.media_max_file_mb == 750 and settings.media_url_ttl_seconds == 120
    location = storage_location(settings, ".")
    assert (location.kind, location.bucket, location.prefix) == ("s3", "vhs-medien", "iserlohn")
    assert storage_location(Settings(storage_url="file:///srv/medien"), ".").directory == Path(
        "/srv/medien"
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"storage_url": "ftp://host/media"}, "VHS_STORAGE_URL"),
        ({"storage_url": "/srv/media"}, "VHS_STORAGE_URL"),
        ({"storage_url": "file://relative/path"}, "VHS_STORAGE_URL"),
        ({"storage_url": "s3://Bad_Bucket/x"}, "VHS_STORAGE_URL"),
        ({"storage_url": "s3://bucket/../up"}, "VHS_STORAGE_URL"),
        ({"storage_url": "s3://bucket/a b"}, "VHS_STORAGE_URL"),
        ({"storage_url": "s3://bucket?x=1"}, "VHS_STORAGE_URL"),
        (
            {"storage_url": "s3://bucket", "s3_access_key_id": "only-one"},
            "VHS_S3_SECRET_ACCESS_KEY",
        ),
        ({"storage_url": "s3://bucket", "s3_endpoint_url": "s3.example.de"}, "VHS_S3_ENDPOINT_URL"),
        ({"s3_region": "eu-central-1"}, "VHS_STORAGE_URL"),  # S3 settings without S3 storage
        ({"media_max_file_mb": 0}, "VHS_MEDIA_MAX_FILE_MB"),
        ({"media_max_file_mb": 20_000}, "VHS_MEDIA_MAX_FILE_MB"),
        ({"media_url_ttl_seconds": 0}, "VHS_MEDIA_URL_TTL_SECONDS"),
        ({"media_url_ttl_seconds": 8 * 24 * 3600}, "VHS_MEDIA_URL_TTL_SECONDS"),
    ],
)
def test_wrong_media_settings_stop_the_start_in_development_too(values, named):
    assert named in problems(**values)


def test_a_number_that_is_none_is_named():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"VHS_MEDIA_MAX_FILE_MB": "viel"})
    assert "VHS_MEDIA_MAX_FILE_MB" in str(info.value)
