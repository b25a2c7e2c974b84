"""The working directory over the package: which flow file and which screen file a command uses.

The robot ships its flows and its selector catalogue (robots/config.py `packaged`). A command run in a directory
uses that directory's own `flows/` and `selectors/` first, even when it has no robot.yaml:
- a flow of DIR/flows/ replaces the packaged flow at the same place (DIR/flows/common/login.yaml replaces the
  packaged flows/common/login.yaml), for a flow named on the command line and for every sub-flow call alike;
- a screen file of DIR/selectors/ (or of `settings.catalogue`, or `validate --catalogue`) replaces the packaged
  screen of the same name (robots/language/catalogue.py).
What the directory does not hold comes from the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from robots.config import packaged, working_dir

FLOWS = "flows"


def own_folder(name: str) -> Path | None:
    """The working directory's `flows/` or `selectors/`, when it has one that is not the packaged folder itself
    (a checkout run from its root has no overrides)."""
    folder = working_dir() / name
    if not folder.is_dir() or same_place(folder, packaged(name)):
        return None
    return folder


def same_place(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> Path | None:
    """`path` relative to `folder` when it is inside it."""
    try:
        return path.relative_to(folder)
    except ValueError:
        return None


def flow_place(path: Path) -> Path | None:
    """Where a flow file stands among the flows (common/login.yaml), when it is a packaged flow or an own one."""
    path = path.resolve()
    own = own_folder(FLOWS)
    if own is not None and (relative := _inside(path, own.resolve())) is not None:
        return relative
    return _inside(path, packaged(FLOWS).resolve())


def effective_flow(path: Path) -> Path:
    """The flow file a command runs for `path`: the working directory's flow at the same place when there is one,
    else the packaged one; a flow outside both folders is itself."""
    place = flow_place(path)
    if place is None:
        return path
    own = own_folder(FLOWS)
    if own is not None and (own / place).is_file():
        return own / place
    if path.is_file():
        return path  # as the person wrote it: messages name it so
    shipped = packaged(FLOWS) / place  # an own flow's call to a flow the directory does not replace
    return shipped if shipped.is_file() else path


def sub_flow(caller: Path, target: str) -> Path:
    """The file a `call: {flow: target}` of the flow `caller` runs: relative to the caller, then overridden.
    An own flow calling `../services/login.yaml` gets the packaged one when the directory has none."""
    joined = Path(os.path.normpath(caller.resolve().parent / target))
    return effective_flow(joined).resolve()


def named_flow(name: str) -> Path | None:
    """`run reset_technical_password`: DIR/flows/NAME.yaml, else the packaged flows/NAME.yaml, else flows/common/."""
    for place in (Path(f"{name}.yaml"), Path("common") / f"{name}.yaml"):
        for folder in (own_folder(FLOWS), packaged(FLOWS)):
            if folder is not None and (folder / place).is_file():
                return folder / place
    return None


@dataclass(frozen=True)
class FlowSet:
    """The flows a directory runs: every packaged flow (or its override) and the directory's own new flows."""

    files: list[Path]
    overrides: dict[Path, Path]  # own file → the packaged file it replaces


def merged_flows() -> FlowSet:
    shipped = packaged(FLOWS)
    own = own_folder(FLOWS)
    files: dict[Path, Path] = {p.relative_to(shipped): p for p in sorted(shipped.rglob("*.yaml"))}
    overrides: dict[Path, Path] = {}
    if own is not None:
        for path in sorted(own.rglob("*.yaml")):
            place = path.relative_to(own)
            if place in files:
                overrides[path] = files[place]
            files[place] = path
    return FlowSet(sorted(files.values()), overrides)


def shown(path: Path) -> str:
    """A file as a message names it: relative to the working directory when it is inside, else in full."""
    relative = _inside(path.resolve(), working_dir().resolve())
    return str(relative if relative is not None else path)
