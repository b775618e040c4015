import pytest

from loc_strategy_filter import errors
from loc_strategy_filter.glance_config import GLANCE_STORE_DEFAULT_DIR
from loc_strategy_filter import settings


def file_dirs(tmp_path, text, project="glance"):
    path = tmp_path / "glance-api.conf"
    path.write_text(text)
    conf = settings.load_config(project=project, config_files=[str(path)])
    return settings.from_config(conf).readers["file"].dirs


@pytest.mark.parametrize("text, expected", [
    ("[glance_store]\nfilesystem_store_datadir = /srv/images\n",
     ("/srv/images",)),
    ("[glance_store]\nfilesystem_store_datadirs = /a:100\n"
     "filesystem_store_datadirs = /b\n", ("/a", "/b")),
    ("", (GLANCE_STORE_DEFAULT_DIR,)),
    ("[glance_store]\nstores = rbd\n", ()),
    ("[DEFAULT]\nenabled_backends = fast:file, ceph:rbd, slow:file\n"
     "[fast]\nfilesystem_store_datadir = /fast\n"
     "[slow]\nfilesystem_store_datadir = /slow\n", ("/fast", "/slow")),
    ("[DEFAULT]\nenabled_backends = ceph:rbd\n", ()),
    ("[location_strategy_filter]\nfile_dirs = /mine\n"
     "[glance_store]\nfilesystem_store_datadir = /srv/images\n", ("/mine",)),
], ids=["single-store-dir", "datadirs-with-priority", "glance-default",
        "rbd-only", "multi-store-file-backends", "multi-store-rbd-only",
        "explicit-file-dirs-win"])
def test_file_dirs_default_to_glances_file_stores(tmp_path, text, expected):
    assert file_dirs(tmp_path, text) == expected


def test_no_glance_default_dir_outside_glance(tmp_path):
    assert file_dirs(tmp_path, "", project=None) == ()


def test_the_file_glance_reads_under_uwsgi_is_found(tmp_path, monkeypatch):
    (tmp_path / "glance-api.conf").write_text(
        "[DEFAULT]\nlocation_strategy = store_type\n")
    monkeypatch.setenv("OS_GLANCE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "nowhere"))
    chosen = settings.from_paste({}, {"oslo_config_project": "glance",
                                      "oslo_config_program": "glance-api"})
    assert chosen.strategy == "store_type"


@pytest.mark.parametrize("conf, words", [
    ({"file_dirs": "images"}, ["file_dirs", "images", "absolute"]),
    ({"http_allowed_hosts": "https://mirror.example.com"},
     ["http_allowed_hosts", "https://mirror.example.com", "host:port"]),
    ({"http_allowed_hosts": "mirror.example.com/images"},
     ["http_allowed_hosts", "mirror.example.com/images"]),
    ({"download_mode": "fast"}, ["download_mode", "fast", "serve", "steer"]),
], ids=["relative-dir", "url-not-host", "path-not-host", "unknown-mode"])
def test_bad_reader_settings_fail_at_load(conf, words):
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_paste({}, conf)
    for word in words:
        assert word in str(raised.value)


def test_a_relative_glance_file_store_dir_fails_naming_where_it_came_from(
        tmp_path):
    with pytest.raises(errors.ConfigurationError) as raised:
        file_dirs(tmp_path, "[glance_store]\n"
                            "filesystem_store_datadir = images\n")
    assert str(raised.value) == (
        "Invalid value 'images' for option [location_strategy_filter] "
        "file_dirs: not an absolute path; allowed: a comma-separated list "
        "(absolute directories); the option is not set, so the value is "
        "from Glance's configuration")
