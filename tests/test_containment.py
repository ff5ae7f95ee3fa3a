"""A document is read by name only inside its folder and only if the index holds it: the name
check, symlinks leaving the folder, and a layer check (AST) that no other module joins a name
onto a folder, with the check shown to catch one added on purpose."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from index.contained import contained, plain_name
from index.errors import DocumentError

from data import REPO

PACKAGES = ("index", "assistant", "bots")
PATHLIKE = re.compile(r"(root|folder|dir|directory|base|parent|path|home)$", re.IGNORECASE)
PATH_TYPES = {"Path", "PurePath", "PurePosixPath", "PureWindowsPath"}

# Every join of a non-constant onto a folder, and why it is safe. The only one that takes a
# document's name is index/contained.py's; nothing under bots/ (where requests arrive) may join.
ALLOWED = {
    "index/contained.py: base.joinpath(name)": "the one join: a plain name, resolved and checked to stay inside",
    "index/documents.py: Path(dirpath, name)": "os.walk's own entries under the folder (discover)",
    "index/corpus.py: self.data_dir / 'indexes' / self.key": "a hash of the folder, model and layout",
    "index/texts.py: self.folder / f'{hashlib.sha256(source.encode()).hexdigest()[:32]}.json'": "a hash of the name",
    "index/onnx_embedding.py: self.cache_dir / f'{self._cache_key()}.onnx'": "a hash of the model",
    "assistant/spaces.py: Path(path).parent / str(table['corpus'])": "the spaces file's own corpus (the operator's)",
    "assistant/testing/cases.py: path.parent / _scalar(path, top['corpus'], 'corpus', str)": "an answer-cases file's corpus (the operator's)",
    "assistant/testing/engines.py: base / value": "pytest's ini option (the operator's)",
}


def _leftmost(node: ast.expr) -> str:
    """The name a path expression starts from: `self.data_dir / 'x' / y` -> data_dir."""
    while isinstance(node, ast.BinOp):
        node = node.left
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr.isupper()  # module.CONSTANT
    return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id.isupper())


def joins(root: Path = REPO) -> list[str]:
    """`file: expression` of every place that joins something not constant onto a folder."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                    left = _leftmost(node.left)
                    if not _constant(node.right) and (PATHLIKE.search(left) or left in PATH_TYPES):
                        found.append(f"{where}: {ast.unparse(node)}")
                elif isinstance(node, ast.Call):
                    func = ast.unparse(node.func)
                    many_parts = func in PATH_TYPES and len(node.args) > 1
                    if func == "os.path.join" or func.endswith(".joinpath") or many_parts:
                        found.append(f"{where}: {ast.unparse(node)}")
    return sorted(set(found))


def test_only_the_contained_reader_joins_a_name_onto_a_folder():
    assert [j for j in joins() if j not in ALLOWED] == []
    assert not any(j.startswith("bots/") for j in ALLOWED)
    assert [j for j in ALLOWED if j not in joins()] == []  # no stale entry hides a new one


@pytest.mark.parametrize(
    "code",
    [
        "def f(root, name):\n    return (root / name).read_text()\n",
        "import os\ndef f(folder, name):\n    return open(os.path.join(folder, name))\n",
        "from pathlib import Path\ndef f(folder, name):\n    return Path(folder, name)\n",
        "def f(index, name):\n    return index.root.joinpath(name)\n",
        "def f(space, request):\n    return space.corpus_dir / request.path_params['path']\n",
    ],
)
def test_the_join_check_catches_one_added_on_purpose(tmp_path, code):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "bots" / "bad.py").write_text(code, encoding="utf-8")
    assert len(joins(tmp_path)) == 1 and joins(tmp_path)[0].startswith("bots/bad.py: ")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "../secret.txt",
        "a/../../secret.txt",
        "a/./b.md",
        "a//b.md",
        "..",
        ".",
        "a/..",
        "..\\secret.txt",
        "a\\..\\..\\secret.txt",
        "C:secret.txt",
        "c:/windows/win.ini",
        "leave.md\x00.txt",
        "leave\n.md",
        "leave\x7f.md",
        "leave\x85.md",
        "x" * 1025,
    ],
)
def test_names_that_are_not_plain_relative_paths_are_refused(name):
    assert not plain_name(name)
    with pytest.raises(DocumentError):
        contained(REPO, name)


@pytest.mark.parametrize("name", ["leave.md", "hr/leave.md", "a b/é.md", "%2e%2e/x.md", "...md", "a/.hidden"])
def test_plain_names_pass_the_name_check(name):
    assert plain_name(name)


def test_symlinks_are_followed_only_while_they_stay_inside(tmp_path):
    root, outside = tmp_path / "corpus", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("canary", encoding="utf-8")
    (root / "doc.txt").write_text("inside", encoding="utf-8")
    (root / "sub" / "alias.txt").symlink_to("../doc.txt")
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "linked").symlink_to(outside, target_is_directory=True)

    assert contained(root, "sub/alias.txt") == (root / "doc.txt").resolve()
    for name, reason in [
        ("leak.txt", "a link to a file outside the folder"),
        ("linked/secret.txt", "a link to a file outside the folder"),
        ("missing.txt", "file vanished"),
        ("sub", "not a regular file"),
    ]:
        with pytest.raises(DocumentError) as caught:
            contained(root, name)
        assert caught.value.reason == reason
