from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from contextual_avatar.cli import app
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.retrieval._onnx import OnnxEmbedder

pytestmark = pytest.mark.slow
runner = CliRunner()
# The default embedder is ONNX Runtime's when installed, else torch's: both load lazily.
EMBEDDERS = (MiniLMEmbedder, OnnxEmbedder)


def test_ingest_then_ask_prints_answer_and_citation(tmp_path: Path, guide_pdf: Path):
    data = str(tmp_path / "d")
    out = runner.invoke(app, ["ingest", str(guide_pdf), "--data-dir", data])
    assert out.exit_code == 0, out.output
    assert "guide.pdf" in out.output and "chunks" in out.output
    out = runner.invoke(
        app, ["ask", "How much does an adult ticket cost?", "--data-dir", data, "-v"]
    )
    assert out.exit_code == 0, out.output
    assert "9 euros" in out.output and "source: guide.pdf p. 2" in out.output
    assert "cache miss" in out.output


def test_bad_file_is_one_clear_line_and_exit_1(tmp_path: Path):
    out = runner.invoke(
        app, ["ingest", str(tmp_path / "nope.pdf"), "--data-dir", str(tmp_path / "d")]
    )
    assert out.exit_code == 1
    assert "no such file" in out.output and "Traceback" not in out.output


def test_ask_on_empty_index_explains(tmp_path: Path):
    out = runner.invoke(app, ["ask", "hello?", "--data-dir", str(tmp_path / "d")])
    assert out.exit_code == 1 and "ingest" in out.output


def test_chat_keeps_follow_ups_in_context(tmp_path: Path, guide_pdf: Path):
    data = str(tmp_path / "d")
    runner.invoke(app, ["ingest", str(guide_pdf), "--data-dir", data])
    out = runner.invoke(
        app,
        ["chat", "--data-dir", data, "-v"],
        input="How much does an adult ticket cost?\nAnd for children?\n",
    )
    assert out.exit_code == 0, out.output
    assert "5 euros" in out.output and "cache hit" in out.output


def test_convert_whisper_writes_a_loadable_checkpoint(tmp_path: Path):
    from contextual_avatar.ingest._whisper_convert import bundled_ctranslate2_model

    dst = tmp_path / "tiny.pt"
    out = runner.invoke(app, ["convert-whisper", str(bundled_ctranslate2_model()), str(dst)])
    assert out.exit_code == 0, out.output
    import whisper

    model = whisper.load_model(str(dst), device="cpu")
    assert model.dims.n_vocab > 50_000


def test_convert_whisper_rejects_a_non_model(tmp_path: Path):
    out = runner.invoke(app, ["convert-whisper", str(tmp_path), str(tmp_path / "x.pt")])
    assert out.exit_code == 1 and "model.bin" in out.output


# -- user-supplied text is printed verbatim, never read as Rich markup ---------------------
# Names with "/" ("[bold red]x[/].md", "[/x].txt") are a folder plus a file on disk: the
# file's base name is what ingest reports and citations show, the full path is what
# `documents` and errors show, so both halves of the markup get printed.

WEIRD = {
    "notes [v2].txt": "Adult tickets cost 9 euros [/x] on weekdays.\n",
    "[bold red]x[/].md": "The museum opens at 10 o'clock and closes at 18 o'clock every day.\n",
    "[/x].txt": "Bicycle parking is behind the north gate; bring your own bicycle lock.\n",
    "🎉 :fire: שלום مرحبا.txt": "The gift shop sells postcards that say שלום and مرحبا 🎉.\n",
}


def _lines(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


@pytest.fixture(scope="module")
def weird(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], list[Path], str]:
    """The WEIRD files ingested once into a data folder whose own path holds markup."""
    base = tmp_path_factory.mktemp("weird")
    paths = []
    for name, text in WEIRD.items():
        path = base / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    env = {
        "CONTEXTUAL_AVATAR_DATA_DIR": str(base / "data [v1] [/x]"),
        "CONTEXTUAL_AVATAR_TRANSCRIPTION__CACHE_DIR": str(base / "whisper [cache]"),
    }
    out = runner.invoke(app, ["ingest", *map(str, paths)], env=env)
    assert out.exit_code == 0, out.output
    return env, paths, out.output


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything loads an embedding model (torch or ONNX runtime)."""

    def load(self: object) -> None:
        raise AssertionError("the embedding model was loaded")

    for embedder in EMBEDDERS:
        monkeypatch.setattr(embedder, "_load", load)


def test_ingest_prints_names_with_brackets_tags_emoji_and_rtl_exactly(weird):
    _, paths, output = weird
    for line, path in zip(_lines(output)[: len(paths)], paths, strict=True):
        assert line.startswith(f"{path.name}: 1 text segment(s) -> 1 chunks"), output
    assert "Traceback" not in output


def test_ask_prints_the_answer_and_cites_a_bracketed_name_exactly(weird):
    env, _, _ = weird
    out = runner.invoke(app, ["ask", "How much does an adult ticket cost?"], env=env)
    assert out.exit_code == 0, out.output
    assert "Adult tickets cost 9 euros [/x] on weekdays." in out.output
    assert "  source: notes [v2].txt" in _lines(out.output)


@pytest.mark.parametrize(
    ("question", "index"),
    [
        ("When does the museum open?", 1),
        ("Where is the bicycle parking?", 2),
        ("Which postcards does the gift shop sell?", 3),
    ],
)
def test_ask_cites_tag_emoji_and_rtl_names_exactly(weird, question: str, index: int):
    env, paths, _ = weird
    out = runner.invoke(app, ["ask", question, "-s", f"s{index}"], env=env)
    assert out.exit_code == 0, out.output
    assert WEIRD[list(WEIRD)[index]].strip() in out.output
    assert f"  source: {paths[index].name}" in _lines(out.output), out.output


def test_documents_lists_each_file_escaped_without_loading_the_model(weird, no_model):
    env, paths, _ = weird
    out = runner.invoke(app, ["documents"], env=env)
    assert out.exit_code == 0, out.output
    lines = _lines(out.output)
    assert lines[0] == f"collection default: {len(paths)} document(s)"
    assert len(lines) == 1 + len(paths)
    for line, path in zip(lines[1:], paths, strict=True):
        assert line.startswith(f"  {path.name}  text  1 chunk(s)  {path.resolve()}  20"), line


def test_where_shows_the_data_folder_and_its_contents_without_loading_the_model(weird, no_model):
    env, paths, _ = weird
    env = env | {"CONTEXTUAL_AVATAR_KNOWLEDGE__BACKEND": "sqlite"}  # sharing is off by default
    out = runner.invoke(app, ["where"], env=env)
    assert out.exit_code == 0, out.output
    data = Path(env["CONTEXTUAL_AVATAR_DATA_DIR"]).resolve()
    cache = Path(env["CONTEXTUAL_AVATAR_TRANSCRIPTION__CACHE_DIR"]).resolve()
    lines = _lines(out.output)
    assert lines[0] == f"data folder: {data} (from CONTEXTUAL_AVATAR_DATA_DIR)"
    assert f"  index: {data / 'index'}: {len(paths)} file(s), {len(paths)} chunk(s), " in out.output
    assert f"  knowledge graph: {data / 'knowledge.sqlite3'}: " in out.output
    assert f"  outbox: {data / 'outbox'}: " in out.output
    assert f"  transcript cache: {cache / 'transcripts'}: 0 transcript(s)" in out.output
    assert "CONTEXTUAL_AVATAR_DATA_DIR or --data-dir" in lines[-1]


def test_where_and_documents_on_a_new_folder_create_nothing(tmp_path: Path, no_model):
    data = tmp_path / "fresh [v1]"
    out = runner.invoke(app, ["where", "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    assert f"data folder: {data} (from --data-dir; not created yet)" in out.output
    assert f"  index: {data / 'index'}: empty" in out.output
    out = runner.invoke(app, ["documents", "--data-dir", str(data)])
    assert out.exit_code == 0 and f"no documents in {data}" in out.output
    assert not data.exists()


def test_help_names_the_data_folder_and_how_to_change_it(tmp_path: Path):
    data = tmp_path / "avatar [v2] [/x]"
    out = runner.invoke(
        app, ["--help"], env={"CONTEXTUAL_AVATAR_DATA_DIR": str(data), "COLUMNS": "400"}
    )
    assert out.exit_code == 0, out.output
    assert f"Data folder: {data} (from CONTEXTUAL_AVATAR_DATA_DIR)." in out.output
    assert "CONTEXTUAL_AVATAR_DATA_DIR=/another/folder" in out.output
    assert "--data-dir" in out.output and "contextual-avatar where" in out.output


def test_help_without_the_variable_names_the_per_user_default():
    from contextual_avatar.config import default_data_dir

    out = runner.invoke(app, ["--help"], env={"CONTEXTUAL_AVATAR_DATA_DIR": None, "COLUMNS": "400"})
    assert out.exit_code == 0, out.output
    assert f"Data folder: {default_data_dir().resolve()} (the per-user default)." in out.output


def test_unsupported_file_with_markup_in_its_name_is_one_clean_error(tmp_path: Path):
    report = tmp_path / "report[/x].docx"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("not really a docx", encoding="utf-8")
    out = runner.invoke(app, ["ingest", str(report), "--data-dir", str(tmp_path / "d")])
    assert out.exit_code == 1
    assert f"error: cannot ingest {report}: unknown file type '.docx'" in out.output
    assert "Traceback" not in out.output and "MarkupError" not in out.output


def test_missing_extra_hint_keeps_its_brackets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from contextual_avatar.errors import MissingDependencyError

    def load(self: object) -> None:
        raise MissingDependencyError("the MiniLM embedder", "embeddings", "sentence-transformers")

    for embedder in EMBEDDERS:
        monkeypatch.setattr(embedder, "_load", load)
    notes = tmp_path / "notes.txt"
    notes.write_text("Adult tickets cost 9 euros.\n", encoding="utf-8")
    out = runner.invoke(app, ["ingest", str(notes), "--data-dir", str(tmp_path / "d")])
    assert out.exit_code == 1
    assert "pip install 'contextual-avatar[embeddings]'" in out.output, out.output


# -- collections: documents per collection, remove ----------------------------------------


@pytest.fixture(scope="module")
def shelves(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Path]]:
    """A data folder with two files in `default` and one in `museum`."""
    base = tmp_path_factory.mktemp("shelves")
    files = {
        "tickets.txt": "Adult tickets cost 9 euros on weekdays.\n",
        "parking.txt": "Bicycle parking is behind the north gate of the museum.\n",
        "shop.txt": "The gift shop sells postcards of the lighthouse.\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = base / name
        paths[name].write_text(text, encoding="utf-8")
    data = str(base / "data")
    out = runner.invoke(
        app, ["ingest", str(paths["tickets.txt"]), str(paths["parking.txt"]), "--data-dir", data]
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["ingest", str(paths["shop.txt"]), "-c", "museum", "--data-dir", data])
    assert out.exit_code == 0, out.output
    return data, paths


def test_documents_lists_every_collection_and_one_on_request(shelves, no_model):
    data, paths = shelves
    out = runner.invoke(app, ["documents", "--data-dir", data])
    assert out.exit_code == 0, out.output
    lines = _lines(out.output)
    assert lines[0] == "collection default: 2 document(s)"
    assert lines[1].startswith("  tickets.txt  text") and lines[2].startswith("  parking.txt  text")
    assert lines[3] == "collection museum: 1 document(s)"
    assert lines[4].startswith(f"  shop.txt  text  1 chunk(s)  {paths['shop.txt'].resolve()}")
    out = runner.invoke(app, ["documents", "-c", "museum", "--data-dir", data])
    assert out.exit_code == 0 and "tickets.txt" not in out.output and "shop.txt" in out.output
    out = runner.invoke(app, ["documents", "-c", "nope", "--data-dir", data])
    assert out.exit_code == 1 and "no collection 'nope'" in out.output
    out = runner.invoke(app, ["documents", "-c", "../etc", "--data-dir", data])
    assert out.exit_code == 1 and "collection must be" in out.output


def test_where_names_the_other_collections(shelves, no_model):
    data, _ = shelves
    out = runner.invoke(app, ["where", "--data-dir", data])
    assert out.exit_code == 0, out.output
    assert f"  collections: {Path(data).resolve() / 'collections'}: museum" in _lines(out.output)


def test_ask_answers_from_the_collection_asked(shelves):
    data, _ = shelves
    out = runner.invoke(
        app, ["ask", "What does the gift shop sell?", "-c", "museum", "--data-dir", data]
    )
    assert out.exit_code == 0, out.output
    assert "postcards" in out.output and "source: shop.txt" in out.output
    out = runner.invoke(
        app, ["ask", "What does the gift shop sell?", "-s", "d", "--data-dir", data]
    )
    assert out.exit_code == 0, out.output
    assert "source: shop.txt" not in out.output  # the default collection does not hold it


def test_remove_deletes_a_document_from_answers_and_listing(tmp_path: Path, shelves):
    _, paths = shelves
    data = str(tmp_path / "d")
    both = [str(paths["tickets.txt"]), str(paths["parking.txt"])]
    assert runner.invoke(app, ["ingest", *both, "--data-dir", data]).exit_code == 0
    assert (
        runner.invoke(
            app, ["ingest", str(paths["parking.txt"]), "-c", "museum", "--data-dir", data]
        ).exit_code
        == 0
    )
    out = runner.invoke(app, ["remove", "parking.txt", "--data-dir", data])
    assert out.exit_code == 0, out.output
    assert f"removed parking.txt ({paths['parking.txt'].resolve()}) from default" in out.output
    listed = runner.invoke(app, ["documents", "--data-dir", data]).output
    default, museum = listed.split("collection museum")
    assert "parking.txt" not in default and "tickets.txt" in default
    assert "parking.txt" in museum  # another collection's copy stays
    out = runner.invoke(app, ["ask", "Where is the bicycle parking?", "--data-dir", data])
    assert out.exit_code == 0, out.output
    assert "source: parking.txt" not in out.output and "north gate" not in out.output
    out = runner.invoke(
        app, ["ask", "Where is the bicycle parking?", "-c", "museum", "--data-dir", data]
    )
    assert "north gate" in out.output and "source: parking.txt" in out.output


def test_remove_of_an_unknown_name_or_collection_is_one_clear_error(tmp_path: Path, shelves):
    data, _ = shelves
    out = runner.invoke(app, ["remove", "nope [v2].txt", "--data-dir", data])
    assert out.exit_code == 1 and "nope [v2].txt" in out.output and "Traceback" not in out.output
    out = runner.invoke(app, ["remove", "shop.txt", "-c", "attic", "--data-dir", data])
    assert out.exit_code == 1 and "unknown collection 'attic'" in out.output
