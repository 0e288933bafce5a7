"""Content is validated like config: every mistake names the file and the place."""

from pathlib import Path
from shutil import copytree

import pytest

from p2p.content import BLOCK_TYPES, ContentError, load_library
from p2p.config import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"


def write_programme(root: Path, module: str, programme: str = 'title = "T"\nsummary = "S"\n') -> Path:
    folder = root / "prog"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "programme.toml").write_text(programme)
    (folder / "10-mod.toml").write_text(module)
    return folder / "10-mod.toml"


GOOD_MODULE = '''
id = "mod"
order = 1
title = "A module"
[[sessions]]
id = "s1"
title = "Session one"
  [[sessions.blocks]]
  type = "free_text"
  id = "q1"
  prompt = "How are you?"
'''


def test_the_real_content_loads():
    library = load_library(CONTENT)
    assert set(library.programmes) == {"p2p", "peer-support-training"}


def test_a_minimal_module_loads(tmp_path):
    write_programme(tmp_path, GOOD_MODULE)
    module = load_library(tmp_path).programme("prog").module("mod")
    assert module.session("s1").block("q1").prompt == "How are you?"


@pytest.mark.parametrize("broken, where, words", [
    (GOOD_MODULE.replace('prompt = "How are you?"', ""), "sessions[0].blocks[0].prompt", "is missing"),
    (GOOD_MODULE.replace('type = "free_text"', 'type = "essay"'), "sessions[0].blocks[0].type", "not a block type"),
    (GOOD_MODULE.replace('id = "q1"', 'id = "Q 1"'), "sessions[0].blocks[0].id", "lower-case"),
    (GOOD_MODULE.replace('title = "A module"', 'title = "A module"\ntitel = "typo"'), "titel", "typo"),
    (GOOD_MODULE.replace("order = 1", 'order = "first"'), "order", "whole number"),
    (GOOD_MODULE + '''
  [[sessions.blocks]]
  type = "reading"
  id = "q1"
  text = "Again"
''', "blocks[1].id", "used twice"),
    (GOOD_MODULE.replace('id = "s1"', 'id = "s1"\nlearning_intentions = "one"'), "sessions[0].learning_intentions",
     "list"),
    (GOOD_MODULE + '''
  [[sessions.blocks]]
  type = "table_notes"
  id = "t"
  columns = ["A", "B"]
  notes_label = "Notes"
  [[sessions.blocks.rows]]
  id = "r"
  cells = ["only one"]
''', "sessions[0].blocks[1].rows[0].cells", "2 columns"),
    (GOOD_MODULE + '''
  [[sessions.blocks]]
  type = "pick_n"
  id = "p"
  prompt = "Pick"
  count = 3
  [[sessions.blocks.groups]]
  id = "g"
  title = "G"
  [[sessions.blocks.groups.options]]
  id = "o"
  name = "O"
''', "sessions[0].blocks[1].count", "only 1 options"),
    ('id = "mod"\norder = 1\ntitle = "x"\nstatus = "outline"\n[[sessions]]\nid = "s"\ntitle = "t"\n', "sessions",
     "outline"),
    ('id = "mod"\norder = 1\ntitle = "x"\n', "sessions", "missing"),
])
def test_a_mistake_names_the_file_and_the_place(tmp_path, broken, where, words):
    path = write_programme(tmp_path, broken)
    with pytest.raises(ContentError) as caught:
        load_library(tmp_path)
    assert caught.value.file == str(path)
    assert where in caught.value.where
    assert words in caught.value.message
    assert str(path) in str(caught.value)


def test_invalid_toml_names_the_file(tmp_path):
    path = write_programme(tmp_path, 'id = "mod\n')
    with pytest.raises(ContentError, match="not valid TOML") as caught:
        load_library(tmp_path)
    assert caught.value.file == str(path)


def test_a_programme_folder_needs_its_programme_file(tmp_path):
    (tmp_path / "prog").mkdir()
    (tmp_path / "prog" / "10-mod.toml").write_text(GOOD_MODULE)
    with pytest.raises(ContentError, match="programme.toml"):
        load_library(tmp_path)


def test_two_files_with_one_module_id_are_refused(tmp_path):
    write_programme(tmp_path, GOOD_MODULE)
    (tmp_path / "prog" / "20-copy.toml").write_text(GOOD_MODULE)
    with pytest.raises(ContentError, match="already the id of a module in"):
        load_library(tmp_path)


def test_adding_a_module_is_adding_a_file(tmp_path):
    copytree(CONTENT, tmp_path / "content")
    (tmp_path / "content" / "p2p" / "50-module-4.toml").write_text(
        GOOD_MODULE.replace('id = "mod"', 'id = "module-4"').replace("order = 1", "order = 50"))
    modules = load_library(tmp_path / "content").programme("p2p").modules
    assert modules[-1].id == "module-4"


def test_markdown_in_content_cannot_inject_html(tmp_path):
    write_programme(tmp_path, GOOD_MODULE.replace('prompt = "How are you?"', '''prompt = "How are you?"
  help = "<script>alert(1)</script> [x](javascript:alert(1))"'''))
    help_html = str(load_library(tmp_path).programme("prog").module("mod").session("s1").block("q1").help)
    assert "<script>" not in help_html and "&lt;script&gt;" in help_html
    assert 'href="javascript:' not in help_html


def test_every_block_type_has_a_template():
    templates = PROJECT_ROOT / "templates" / "programme" / "blocks"
    for block_type in BLOCK_TYPES:
        assert (templates / f"_{block_type}.html").is_file(), block_type


def test_every_block_type_is_used_by_the_seeds():
    library = load_library(CONTENT)
    used = {b.type for p in library.programmes.values() for m in p.modules for s in m.sessions for b in s.blocks}
    assert used == set(BLOCK_TYPES)


def test_a_broken_content_file_stops_the_app_starting(tmp_path):
    from conftest import make_app
    write_programme(tmp_path / "content", GOOD_MODULE.replace('title = "A module"', ""))
    with pytest.raises(ContentError, match="title"):
        make_app(tmp_path, CONTENT_DIR=str(tmp_path / "content"))
