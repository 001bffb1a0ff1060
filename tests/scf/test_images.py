"""The cloud images' library tables (scftest/scf/images.json) and where provisioned copies live."""

import json
import re
from pathlib import Path

import pytest

from scftest.scf import images

REPO = Path(__file__).resolve().parents[2]
# The seed sits in ../shared beside a checkout (CI, /work/main) or two levels up (a worktree).
SEED_CANDIDATES = [REPO.parent / "shared" / "seed" / "scf-python-runtime.md",
                   REPO.parent.parent / "shared" / "seed" / "scf-python-runtime.md"]
SEED = next((path for path in SEED_CANDIDATES if path.is_file()), None)

SEED_TABLES = {"Python2.7": "Python 2 云端运行时已支持的库", "Python3.6": "Python 3 云端运行时已支持的库"}


def seed_table(text: str, heading: str):
    """(name, version) rows of the Markdown table after ``heading``; some of the seed's rows
    lack the closing '|', so cells are split, not matched whole."""
    rows = []
    for line in text.split(heading, 1)[1].splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == "库名称" or not cells[0].strip("-"):
            continue
        rows.append((cells[0], cells[1]))
    return rows


@pytest.mark.skipif(SEED is None, reason="../shared/seed/scf-python-runtime.md is not beside this checkout")
@pytest.mark.parametrize("runtime", sorted(SEED_TABLES))
def test_listed_rows_are_the_seed_table_exactly(runtime):
    expected = seed_table(SEED.read_text(encoding="utf-8"), SEED_TABLES[runtime])
    assert len(expected) > 40  # the parser found the table, not a fragment of it
    listed = [(lib.name, lib.version) for lib in images.image(runtime).libraries if lib.listed]
    assert listed == expected


@pytest.mark.skipif(SEED is None, reason="../shared/seed/scf-python-runtime.md is not beside this checkout")
def test_the_seed_names_both_cos_modules_the_images_add():
    text = SEED.read_text(encoding="utf-8")
    assert "import qcloud_cos_v5" in text and "from qcloud_cos_v4 import CosClient" in text
    for runtime in SEED_TABLES:
        extra = {lib.name for lib in images.image(runtime).libraries if not lib.listed}
        assert extra == {"qcloud_cos_v5", "qcloud_cos_v4"}


def test_the_runtimes_are_the_five_scf_offers():
    assert images.runtimes() == ("Python2.7", "Python3.6", "Python3.7", "Python3.9", "Python3.10")


@pytest.mark.parametrize("runtime", ["Python3.7", "Python3.9", "Python3.10"])
def test_newer_images_have_no_libraries_and_say_why(runtime):
    table = images.image(runtime)
    assert table.libraries == ()
    assert "583/11061" in table.source and "no pre-installed" in table.source


@pytest.mark.parametrize("runtime", ["Python2.7", "Python3.6"])
def test_every_row_is_well_formed(runtime):
    table = images.image(runtime)
    keys = [lib.key for lib in table.libraries]
    assert len(keys) == len(set(keys)), "a library is listed twice"
    dotted = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
    for lib in table.libraries:
        assert lib.imports and all(dotted.match(name) for name in lib.imports), lib
        if lib.unavailable:
            assert not lib.requirement, lib
        else:
            assert re.match(r"^[A-Za-z0-9._-]+==[A-Za-z0-9.]+$", lib.requirement), lib
        if lib.listed and lib.requirement != f"{lib.name}=={lib.version}":
            assert lib.note, f"{lib.name}: a requirement other than name==version needs a note saying why"


@pytest.mark.parametrize("runtime", ["Python2.7", "Python3.6"])
@pytest.mark.parametrize("name, module", [
    ("Pillow", "PIL"), ("mysqlclient", "MySQLdb"), ("cos-python-sdk-v5", "qcloud_cos"),
    ("protobuf", "google.protobuf"), ("tencentcloud-sdk-python", "tencentcloud"),
    ("psycopg2-binary", "psycopg2"), ("PyMySQL", "pymysql"), ("grpcio", "grpc"),
    ("qcloud_cos_v5", "qcloud_cos_v5"), ("qcloud_cos_v4", "qcloud_cos_v4"),
])
def test_import_names(runtime, name, module):
    table = images.image(runtime)
    assert module in table.find(name).imports
    assert table.provider(module).name == name


def test_python27_only_rows():
    table = images.image("Python2.7")
    assert table.find("PyYAML").imports == ("yaml",)
    assert table.provider("concurrent.futures").name == "futures"
    assert images.image("Python3.6").find("PyYAML") is None  # not in the 3.6 image


def test_find_by_pip_spelling_and_by_import_name():
    table = images.image("Python3.6")
    assert table.find("pillow").name == "Pillow"
    assert table.find("Cos_Python_SDK_v5").name == "cos-python-sdk-v5"
    assert table.find("PIL").name == "Pillow"
    assert table.find("left-pad") is None


def test_provider_of_submodules_and_namespaces():
    table = images.image("Python2.7")
    assert table.provider("google.protobuf.json_format").name == "protobuf"
    assert table.provider("google").name == "protobuf"  # the namespace the library lives in
    assert table.provider("backports.weakref").name == "backports.weakref"
    assert table.provider("qcloud_cos.cos_client").name == "cos-python-sdk-v5"
    assert table.provider("yamlx") is None


def test_the_cos_copies():
    for runtime in ("Python2.7", "Python3.6"):
        v5 = images.image(runtime).find("qcloud_cos_v5")
        assert v5.rename == ("qcloud_cos", "qcloud_cos_v5")
        assert v5.requirement == "cos-python-sdk-v5==1.6.6" and v5.version == "1.6.6"
    v4 = images.image("Python2.7").find("qcloud_cos_v4")
    assert v4.version is None and v4.pinned_version == "0.0.26" and v4.rename == ("qcloud_cos", "qcloud_cos_v4")
    assert "Python 2" in images.image("Python3.6").find("qcloud_cos_v4").unavailable


def test_serverless_db_sdk_comes_from_the_file_pypi_has():
    lib = images.image("Python3.6").find("serverless-db-sdk")
    assert lib.version == "0.0.1" and lib.requirement == "serverless-db-sdk==0.0.6"
    assert lib.pinned_version == "0.0.1"  # the installed copy must still be 0.0.1


def test_pyaml_is_the_release_the_table_means():
    lib = images.image("Python2.7").find("pyaml")
    assert lib.version == "2019.4.1" and lib.requirement == "pyaml==19.4.1" and lib.pinned_version == "19.4.1"
    manifest = images.Manifest("Python2.7", packages={lib.key: images.Provisioned("pyaml", "19.4.1", ("pyaml",), "")})
    assert manifest.provisioned(lib) is not None


def test_runtime_names():
    assert images.canonical("python3.6") == "Python3.6"
    with pytest.raises(images.UnknownRuntime) as info:
        images.image("Python3.8")
    assert "'Python3.8' is not a runtime SCF offers" in str(info.value)
    assert "Python2.7, Python3.6, Python3.7, Python3.9, Python3.10" in str(info.value)


def test_cache_folders_honour_xdg_cache_home(tmp_path, monkeypatch):
    assert images.cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "scftest" / "images"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert images.cache_root({}) == tmp_path / "home" / ".cache" / "scftest" / "images"
    assert images.site_packages("python3.6", tmp_path) == tmp_path / "Python3.6" / "site-packages"


def test_manifest_missing_or_unreadable_is_empty(tmp_path):
    assert images.read_manifest("Python3.6", tmp_path).packages == {}
    folder = tmp_path / "Python3.6"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    assert images.read_manifest("Python3.6", tmp_path).packages == {}
    (folder / "manifest.json").write_text(json.dumps({"packages": {"six": {"name": "six"}}}), encoding="utf-8")
    assert images.read_manifest("Python3.6", tmp_path).packages == {}


def test_manifest_round_trip_and_version_match(tmp_path):
    six = images.image("Python3.6").find("six")
    pip = images.image("Python2.7").find("pip")
    manifest = images.Manifest("Python3.6", "/usr/bin/python3.6", "3.6.15", {
        six.key: images.Provisioned("six", "1.12.0", ("six",), "2024-01-01T00:00:00Z"),
        pip.key: images.Provisioned("pip", "18.0", ("pip",), "2024-01-01T00:00:00Z"),
    }, {"numpy": "boom"})
    folder = tmp_path / "Python3.6"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(manifest.to_dict()), encoding="utf-8")
    again = images.read_manifest("Python3.6", tmp_path)
    assert again == manifest
    assert again.provisioned(six).version == "1.12.0"
    assert again.provisioned(pip).version == "18.0"  # the table's "18" is pip's 18.0
    older = images.Manifest("Python3.6", packages={six.key: images.Provisioned("six", "1.11.0", ("six",), "")})
    assert older.provisioned(six) is None  # another version is not the cloud's


def test_docs_dependencies_counts_match_the_tables():
    text = (REPO / "docs" / "dependencies.md").read_text(encoding="utf-8")
    for runtime in ("Python2.7", "Python3.6"):
        listed = sum(1 for lib in images.image(runtime).libraries if lib.listed)
        assert f"| {runtime} | {listed} libraries of SCF's table" in text
    assert "| Python3.7, Python3.9, Python3.10 | none" in text
