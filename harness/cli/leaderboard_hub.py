"""``harness leaderboard push|pull``: rows to and from a Hub dataset repository (harness.results.hubsync)."""

from __future__ import annotations

import click

from harness.cli.console import console, fail


def _hub_or_fail() -> tuple[type[Exception], ...]:
    """The Hub client's errors to report in one line (huggingface_hub is imported only by these commands)."""
    try:
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    except ImportError:
        fail("leaderboard push/pull need huggingface_hub: pip install huggingface_hub")
    return HfHubHTTPError, OfflineModeIsEnabled


def _hub_error(err: Exception, repo: str) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if type(err).__name__ == "OfflineModeIsEnabled":
        return f"{repo}: the Hub cannot be reached in offline mode (HF_HUB_OFFLINE=1 is set); unset it to push or pull"
    return f"{repo}: the Hub refused the request: {first} (a write needs a token: `hf auth login` or HF_TOKEN)"


@click.command("push")
@click.argument("file", type=click.Path())
@click.option("--repo", required=True, metavar="ORG/NAME", help="the Hub dataset repository (created if absent)")
@click.option("--path-in-repo", default=None, help="file in the repo (default results/FILE-NAME)")
@click.option("--revision", default=None, help="branch to commit to (default main)")
@click.option("--allow-synthetic", is_flag=True, help="push rows measured on synthetic smoke data too")
@click.option("--private", is_flag=True, default=None, help="create the repository private")
def push_cmd(file: str, repo: str, path_in_repo: str | None, revision: str | None, allow_synthetic: bool,
             private: bool | None) -> None:
    """Merge FILE's rows into a results repository on the Hub; a second push of the same rows adds nothing."""
    from harness.results.hubsync import SyncRefused, push

    hub_errors = _hub_or_fail()
    try:
        res = push(file, repo, path_in_repo, revision, allow_synthetic=allow_synthetic, private=private)
    except (FileNotFoundError, SyncRefused, ValueError) as err:
        fail(str(err))
    except hub_errors as err:
        fail(_hub_error(err, repo))
    if res.added:
        console.print(f"pushed {res.added} new row(s) to {repo}/{res.path_in_repo} ({res.kept} already there); "
                      f"commit {res.commit}", highlight=False, markup=False)
    else:
        console.print(f"nothing to push: {repo}/{res.path_in_repo} already holds every row of {file} "
                      f"(commit {res.commit})", highlight=False, markup=False)


@click.command("pull")
@click.argument("file", type=click.Path())
@click.option("--repo", required=True, metavar="ORG/NAME", help="the Hub dataset repository")
@click.option("--path-in-repo", default=None, help="file in the repo (default results/FILE-NAME)")
@click.option("--revision", default=None, help="branch, tag or commit to read (default main)")
def pull_cmd(file: str, repo: str, path_in_repo: str | None, revision: str | None) -> None:
    """Merge a results repository's rows into FILE (created if absent); rows already in FILE are kept."""
    from harness.results.hubsync import SyncRefused, pull

    hub_errors = _hub_or_fail()
    try:
        res = pull(file, repo, path_in_repo, revision)
    except (FileNotFoundError, SyncRefused, ValueError) as err:
        fail(str(err))
    except hub_errors as err:
        fail(_hub_error(err, repo))
    console.print(f"pulled {res.added} new row(s) from {repo}/{res.path_in_repo}@{res.commit} into {file} "
                  f"({res.kept} already there)", highlight=False, markup=False)
