"""Content is validated like config: every mistake names the file and the place."""

from pathlib import Path
from shutil import copytree

import pytest

from p2p.config import PROJECT_ROOT
from p2p.content import BLOCK_TYPES, ContentError, load_library

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


# ---------------------------------------------------------------------------------------------------
# The host's own files in instance/content/: same layout, used in place of shipped files or added to them.


def host_file(host_root: Path, relative: str, text: str) -> Path:
    path = host_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def shipped(tmp_path) -> Path:
    write_programme(tmp_path / "content", GOOD_MODULE)
    return tmp_path / "content"


def test_a_host_file_with_the_same_path_is_used_in_place_of_the_shipped_one(shipped, tmp_path):
    own = host_file(tmp_path / "own", "prog/10-mod.toml", GOOD_MODULE.replace("How are you?", "How is it going?"))
    library = load_library(shipped, tmp_path / "own")
    assert library.programme("prog").module("mod").session("s1").block("q1").prompt == "How is it going?"
    assert [(f.path, f.replaces) for f in library.host_files] == [(own, shipped / "prog" / "10-mod.toml")]


def test_a_host_file_or_folder_of_its_own_is_added(shipped, tmp_path):
    host_file(tmp_path / "own", "prog/20-ours.toml", GOOD_MODULE.replace('id = "mod"', 'id = "ours"'))
    host_file(tmp_path / "own", "local/programme.toml", 'title = "Our own"\nsummary = "S"\n')
    host_file(tmp_path / "own", "local/10-mod.toml", GOOD_MODULE)
    library = load_library(shipped, tmp_path / "own")
    assert [m.id for m in library.programme("prog").modules] == ["mod", "ours"]
    assert library.programme("local").title == "Our own"
    assert all(f.replaces is None for f in library.host_files) and len(library.host_files) == 3


def test_no_host_folder_is_the_programme_as_shipped(shipped, tmp_path):
    library = load_library(shipped, tmp_path / "no-such-folder")
    assert library.host_files == () and list(library.programmes) == ["prog"]


def test_a_mistake_in_a_host_file_names_that_file_and_the_place(shipped, tmp_path):
    own = host_file(tmp_path / "own", "prog/10-mod.toml", GOOD_MODULE.replace('order = 1', 'order = "first"'))
    with pytest.raises(ContentError) as caught:
        load_library(shipped, tmp_path / "own")
    assert (caught.value.file, caught.value.where) == (str(own), "order")


def test_a_host_copy_under_another_name_is_told_to_take_the_shipped_name(shipped, tmp_path):
    own = host_file(tmp_path / "own", "prog/10-mod-ours.toml", GOOD_MODULE)
    with pytest.raises(ContentError, match="give it the same name: 10-mod.toml") as caught:
        load_library(shipped, tmp_path / "own")
    assert caught.value.file == str(own)


@pytest.mark.parametrize("relative, words", [
    ("10-mod.toml", "belongs in its programme's folder"),
    ("Our Programme/10-mod.toml", "name is its id"),
    ("new/10-mod.toml", "programme.toml: is missing"),
])
def test_a_host_file_in_the_wrong_place_is_named(shipped, tmp_path, relative, words):
    host_file(tmp_path / "own", relative, GOOD_MODULE)
    with pytest.raises(ContentError, match=words) as caught:
        load_library(shipped, tmp_path / "own")
    assert str(tmp_path / "own") in caught.value.file


def test_a_broken_host_file_in_the_instance_folder_stops_the_app_starting(shipped, tmp_path):
    from conftest import make_app
    own = host_file(tmp_path / "instance" / "content", "prog/10-mod.toml", GOOD_MODULE.replace("[[sessions]]", ""))
    with pytest.raises(ContentError) as caught:
        make_app(tmp_path, CONTENT_DIR=str(shipped))
    assert caught.value.file == str(own)


def test_check_content_says_which_files_are_the_hosts(shipped, tmp_path):
    from click.testing import CliRunner

    from p2p.cli import check_content_command
    host_file(tmp_path / "own", "prog/10-mod.toml", GOOD_MODULE)
    host_file(tmp_path / "own", "prog/20-ours.toml", GOOD_MODULE.replace('id = "mod"', 'id = "ours"'))
    args = ["--content-dir", str(shipped), "--instance-content-dir", str(tmp_path / "own")]
    result = CliRunner().invoke(check_content_command, args)
    assert result.exit_code == 0, result.output
    assert f"Your own files, from {tmp_path / 'own'}:" in result.output
    assert f"prog/10-mod.toml (in place of {shipped / 'prog' / '10-mod.toml'})" in result.output
    assert "prog/20-ours.toml (added)" in result.output and "Content is valid." in result.output
    host_file(tmp_path / "own", "prog/20-ours.toml", "id = ")
    result = CliRunner().invoke(check_content_command, args)
    assert result.exit_code == 1 and f"{tmp_path / 'own' / 'prog' / '20-ours.toml'}: is not valid TOML" in result.output


# --- links between sessions, links within a page, content notes, paper words (issue 12) -------------------

LINKING_MODULE = GOOD_MODULE + '''
  [[sessions.blocks]]
  type = "reading"
  id = "r1"
  text = """See [the question](#q1), [session two](session:s2#q2) and [the other module](session:other/t1)."""
[[sessions]]
id = "s2"
title = "Session two"
  [[sessions.blocks]]
  type = "free_text"
  id = "q2"
  prompt = "And now?"
'''
OTHER_MODULE = 'id = "other"\norder = 2\ntitle = "Other"\n[[sessions]]\nid = "t1"\ntitle = "T one"\n'


def test_links_to_sessions_and_to_parts_of_the_page_become_addresses(tmp_path):
    write_programme(tmp_path, LINKING_MODULE)
    (tmp_path / "prog" / "20-other.toml").write_text(OTHER_MODULE)   # a later file: links are checked at the end
    text = load_library(tmp_path).programme("prog").module("mod").session("s1").block("r1").text
    assert '<a href="#q1">the question</a>' in text
    assert '<a href="/programmes/prog/modules/mod/sessions/s2#q2">session two</a>' in text
    assert '<a href="/programmes/prog/modules/other/sessions/t1">the other module</a>' in text


@pytest.mark.parametrize("wrong, words, message", [
    ("session:s2#q2", "session:s3", "session 's3', which is not in module 'mod'; its sessions are: s1, s2"),
    ("session:other/t1", "session:nowhere/t1", "module 'nowhere', which is not in this programme"),
    ("#q1", "#q9", "goes to no part of this session; its parts are: q1, r1"),
    ("session:s2#q2", "session:s2#q9", "goes to no part of that session; its parts are: q2"),
    ("session:s2#q2", "session:S2", "should be session:<session-id> or session:<module-id>/<session-id>"),
])
def test_a_link_to_nothing_stops_start_up_naming_the_place(tmp_path, wrong, words, message):
    path = write_programme(tmp_path, LINKING_MODULE.replace(wrong, words, 1))
    (tmp_path / "prog" / "20-other.toml").write_text(OTHER_MODULE)
    with pytest.raises(ContentError) as caught:
        load_library(tmp_path)
    assert caught.value.file == str(path) and caught.value.where == "sessions[0].blocks[1].text"
    assert message in caught.value.message


def test_a_programme_text_names_the_module_of_its_session_links_and_links_no_part_of_a_page(tmp_path):
    write_programme(tmp_path, GOOD_MODULE, 'title = "T"\nsummary = "S"\nintro = "Start at [one](session:mod/s1)."\n')
    assert 'href="/programmes/prog/modules/mod/sessions/s1"' in load_library(tmp_path).programme("prog").intro
    for intro, words in (("[one](session:s1)", "should name its module"), ("[one](#q1)", "only a session's texts")):
        write_programme(tmp_path, GOOD_MODULE, f'title = "T"\nsummary = "S"\nintro = "{intro}"\n')
        with pytest.raises(ContentError, match=words):
            load_library(tmp_path)


def test_a_content_note_skips_ahead_to_the_next_part(tmp_path):
    write_programme(tmp_path, GOOD_MODULE.replace('prompt = "How are you?"', '''prompt = "How are you?"
  content_note = "This asks about hard times."''') + '''
  [[sessions.blocks]]
  type = "story"
  id = "story"
    [[sessions.blocks.story.sections]]
'''.replace("[[sessions.blocks.story.sections]]", '''[[sessions.blocks.sections]]
    id = "one"
    title = "One"
    content_note = "The lowest point."
      [[sessions.blocks.sections.questions]]
      id = "a"
      prompt = "A?"
    [[sessions.blocks.sections]]
    id = "two"
    title = "Two"
    content_note = "Also hard."
      [[sessions.blocks.sections.questions]]
      id = "b"
      prompt = "B?"'''))
    session = load_library(tmp_path).programme("prog").module("mod").session("s1")
    note = session.block("q1").content_note
    assert "This asks about hard times." in note.text and (note.skip_to, note.skip_label) == ("story", "Your story")
    one, two = session.block("story").sections
    assert (one.content_note.skip_to, one.content_note.skip_label) == ("story-two", "Two")
    assert (two.content_note.skip_to, two.content_note.skip_label) == ("after-this-session", "the end of this session")


def test_words_that_point_at_paper_are_noticed_and_listed_by_check_content(tmp_path):
    from click.testing import CliRunner

    from p2p.cli import check_content_command
    path = write_programme(tmp_path, GOOD_MODULE.replace("How are you?", "Finally on page 6, how are you? "
                                                         "Mark them on the diagram."))
    (notice,) = load_library(tmp_path).notices
    assert notice.file == str(path) and notice.where == "sessions[0].blocks[0].prompt"
    assert "“page”, “the diagram”" in notice.message
    result = CliRunner().invoke(check_content_command, ["--content-dir", str(tmp_path),
                                                        "--instance-content-dir", str(tmp_path / "none")])
    assert result.exit_code == 0 and "Worth rewording for a screen" in result.output
    assert f"{path}: sessions[0].blocks[0].prompt: “page”" in result.output and "Content is valid." in result.output


@pytest.mark.parametrize("words, noticed", [
    ("over the next few pages", True), ("on pages 4-6", True), ("the 4 columns", True), ("overleaf", True),
    ("the table above", True), ("the table below", True), ("mark them on the diagram", True),
    ("on this page", False), ("the two questions that follow", False), ("a table of contents", False),
])
def test_what_counts_as_pointing_at_paper(words, noticed):
    from p2p.content import paper_references
    assert bool(paper_references(f"Read {words}.")) is noticed
