"""
The ``miogram`` command on a new Iranian sender's first day: national numbers, real CSV exports,
messages on stdin, and truthful reports when the service is down or a stop cannot be resumed.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from loopback import serving

from miogram_async._base.errors import (
    APIConnectionError,
    APITimeoutError,
    MessageTooLongError,
    PermissionDeniedError,
)
from miogram_async.campaign import Campaign, CampaignKind, CampaignStatus, NumberState
from miogram_async.cli import cli
from miogram_async.cli._context import Settings, connection_message
from miogram_async.cli._exit import ExitCode
from miogram_async.cli._run import CampaignRun, report_run
from miogram_async.testing import (
    AccountConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    LimitsConfig,
)
from miogram_async.testing._serve import active_flags, argument_parser

SECRET = "s3cr3t-first-day"

# A customer export as a spreadsheet writes it: BOM, CRLF, a quoted name with a comma, a name
# over two lines, Persian digits, and the Iranian forms 09..., 9..., 989..., 0098... and +98....
EXPORT = (
    "\ufeffname,phone\r\n"
    "Ali,09121234567\r\n"
    '"Sara, M.",0912 765 4321\r\n'
    "Reza,۰۹۱۲۱۲۳۴۵۶۸\r\n"
    '"Maryam\r\nKarimi",9121234569\r\n'
    "Omid,989121234570\r\n"
    "Neda,00989121234571\r\n"
    "Sina,+98 912 123 4572\r\n"
)
EXPORT_NUMBERS = [
    "+989121234567",
    "+989127654321",
    "+989121234568",
    "+989121234569",
    "+989121234570",
    "+989121234571",
    "+989121234572",
]


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account with two agents on which every number is on the messenger."""
    return FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1", "Agent2")))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str], *, stdin: str | bytes | None = None) -> Result:
    """Run ``miogram ARGS`` with the secret in the environment; check it is never shown."""
    env = {"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None, "MIOGRAM_DEFAULT_REGION": None}
    result = CliRunner().invoke(cli, args, env=env, input=stdin, catch_exceptions=False)
    assert SECRET not in result.stdout + result.stderr
    return result


def campaign_run(
    url: str, numbers: Path, journal: Path, message: str, *, json: bool = False
) -> list[str]:
    """The arguments of ``miogram --base-url URL [--json] campaign run NUMBERS -m MESSAGE -j J``."""
    return [
        "--base-url",
        url,
        *(["--json"] if json else []),
        "campaign",
        "run",
        str(numbers),
        "-m",
        message,
        "-j",
        str(journal),
    ]


def as_json(result: Result) -> dict[str, object]:
    """stdout parsed as the one JSON document it must be."""
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/dojob.php"


def no_journal_files(folder: Path) -> bool:
    """Whether *folder* holds no journal, finished or half-written."""
    return not [path for path in folder.iterdir() if ".sqlite" in path.name]


def test_iranian_export_is_delivered_without_column(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """A name,phone export (BOM, CRLF, Persian digits, every Iranian form) is all delivered."""
    numbers = tmp_path / "customers.csv"
    numbers.write_bytes(EXPORT.encode("utf-8"))
    journal = tmp_path / "c.sqlite"
    args = ["--base-url", url, "--json", "campaign", "run", str(numbers), "-m", "salam"]
    result = invoke([*args, "-j", str(journal)])
    assert result.exit_code == 0, result.stderr
    document = as_json(result)
    counts = document["counts"]
    assert isinstance(counts, dict)
    assert (counts["delivered"], counts["invalid"], counts["duplicate"]) == (7, 0, 0)
    assert document["this_run"] == {
        "attempted": 7,
        "delivered": 7,
        "undelivered": 0,
        "unknown": 0,
        "failed": 0,
        "pending": 0,
    }
    assert sorted(d.number for d in fake.deliveries) == sorted(EXPORT_NUMBERS)
    assert "warning" not in result.stderr


def test_column_option_picks_the_column(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--column NAME and --column N read that column, not the phone-named or first one."""
    numbers = tmp_path / "staff.csv"
    numbers.write_text(
        "id;phone;cell\n1;+989100000001;09120000001\n2;+989100000002;09120000002\n",
        encoding="utf-8",
    )
    first = invoke(
        [
            "--base-url",
            url,
            "--json",
            "campaign",
            "run",
            str(numbers),
            "-m",
            "hi",
            "--column",
            "CELL",
            "-j",
            str(tmp_path / "a.sqlite"),
        ]
    )
    assert first.exit_code == 0, first.stderr
    assert sorted(d.number for d in fake.deliveries) == ["+989120000001", "+989120000002"]
    second = invoke(
        [
            "--base-url",
            url,
            "--json",
            "campaign",
            "run",
            str(numbers),
            "-m",
            "hi",
            "--column",
            "2",
            "-j",
            str(tmp_path / "b.sqlite"),
        ]
    )
    assert second.exit_code == 0, second.stderr
    assert sorted(d.number for d in fake.deliveries[2:]) == ["+989100000001", "+989100000002"]
    assert len(fake.deliveries) == 4


def test_unknown_column_name_is_an_input_error(tmp_path: Path) -> None:
    """--column with a name the header lacks: exit 2 naming the header's columns, no journal."""
    numbers = tmp_path / "n.csv"
    numbers.write_text("name,phone\nAli,09121234567\n", encoding="utf-8")
    result = invoke(
        [
            "--base-url",
            closed_port_url(),
            "campaign",
            "run",
            str(numbers),
            "-m",
            "hi",
            "--column",
            "mobile",
            "-j",
            str(tmp_path / "c.sqlite"),
        ]
    )
    assert result.exit_code == 2
    assert "--column 'mobile'" in result.stderr
    assert "'name', 'phone'" in result.stderr
    assert no_journal_files(tmp_path)


def test_file_without_a_valid_number_is_refused(tmp_path: Path, url: str) -> None:
    """No valid number in the column read: exit 2 naming the column, and no journal is left."""
    numbers = tmp_path / "names.csv"
    numbers.write_text("name,city\nAli,Tehran\nSara,Shiraz\n", encoding="utf-8")
    result = invoke(campaign_run(url, numbers, tmp_path / "c.sqlite", "hi"))
    assert result.exit_code == 2
    assert "column 1 'name'" in result.stderr
    assert "'Ali'" in result.stderr
    assert "--column" in result.stderr
    assert no_journal_files(tmp_path)


def test_mostly_invalid_file_warns_with_three_examples(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """More than half invalid: a warning with three examples; the valid numbers are still sent."""
    numbers = tmp_path / "n.txt"
    numbers.write_text("09121234567\n12\nabc\n0912\n#comment\n\n555\n", encoding="utf-8")
    result = invoke(campaign_run(url, numbers, tmp_path / "c.sqlite", "hi", json=True))
    assert result.exit_code == 0, result.stderr
    assert "warning: 4 of 5 numbers in column 1" in result.stderr
    assert "(e.g. '12', 'abc', '0912')" in result.stderr
    counts = as_json(result)["counts"]
    assert isinstance(counts, dict)
    assert (counts["delivered"], counts["invalid"]) == (1, 4)
    assert [d.number for d in fake.deliveries] == ["+989121234567"]


def test_region_none_refuses_national_forms(url: str, fake: FakeMioGram) -> None:
    """--region none accepts only international forms; the default reads 0912... as Iranian."""
    refused = invoke(["--base-url", url, "--region", "none", "send", "09121234567", "-m", "hi"])
    assert refused.exit_code == 2
    assert "09121234567" in refused.stderr
    assert fake.deliveries == []
    sent = invoke(["--base-url", url, "--json", "send", "09121234567", "-m", "hi"])
    assert sent.exit_code == 0, sent.stderr
    assert as_json(sent)["phone"] == "+989121234567"
    assert [d.number for d in fake.deliveries] == ["+989121234567"]


def test_unknown_region_is_a_usage_error() -> None:
    """A region code that does not exist is refused by --region before anything runs."""
    result = invoke(["--region", "XX", "send", "+989121234567", "-m", "hi"])
    assert result.exit_code == 2
    assert "region code" in result.stderr


def test_send_message_from_stdin(url: str, fake: FakeMioGram) -> None:
    """``send -m -`` sends stdin's text (its last line end dropped), not a literal '-'."""
    result = invoke(["--base-url", url, "send", "9121234567", "-m", "-"], stdin="salam\ndonya\n")
    assert result.exit_code == 0, result.stderr
    assert [(d.number, d.text) for d in fake.deliveries] == [("+989121234567", "salam\ndonya")]


def test_campaign_message_file_from_stdin(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """``--message-file -`` reads the campaign's text from stdin, as given."""
    numbers = tmp_path / "n.txt"
    numbers.write_text("09121234567\n09121234568\n", encoding="utf-8")
    result = invoke(
        [
            "--base-url",
            url,
            "--json",
            "campaign",
            "run",
            str(numbers),
            "--message-file",
            "-",
            "-j",
            str(tmp_path / "c.sqlite"),
        ],
        stdin="سلام\n",
    )
    assert result.exit_code == 0, result.stderr
    assert {d.text for d in fake.deliveries} == {"سلام\n"}
    assert len(fake.deliveries) == 2


def test_campaign_message_dash_from_stdin(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """``campaign run -m -`` reads the text from stdin too."""
    numbers = tmp_path / "n.txt"
    numbers.write_text("09121234567\n", encoding="utf-8")
    result = invoke(
        [
            "--base-url",
            url,
            "campaign",
            "run",
            str(numbers),
            "-m",
            "-",
            "-j",
            str(tmp_path / "c.sqlite"),
        ],
        stdin="from stdin\n",
    )
    assert result.exit_code == 0, result.stderr
    assert [d.text for d in fake.deliveries] == ["from stdin"]


def test_numbers_and_message_cannot_both_come_from_stdin(tmp_path: Path) -> None:
    """NUMBERS '-' with -m - is a usage error (exit 2): stdin can hold only one of them."""
    result = invoke(["campaign", "run", "-", "-m", "-", "-j", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2
    assert "stdin" in result.stderr
    assert no_journal_files(tmp_path)


def test_unreachable_send_names_the_url_and_cause() -> None:
    """A refused connection: exit 1, 'cannot reach <url>: connection refused', no class names."""
    target = closed_port_url()
    result = invoke(["--base-url", target, "send", "+989121234567", "-m", "hi"])
    assert result.exit_code == 1
    assert f"cannot reach {target}: connection refused" in result.stderr
    assert "ConnectError" not in result.stderr
    assert "ConnectTimeout" not in result.stderr


def test_server_down_keeps_every_number_pending_then_resume_delivers_once(
    tmp_path: Path, fake: FakeMioGram
) -> None:
    """Service down: exit 1 with URL and cause, all pending, nothing "sent"; resume sends once."""
    numbers = tmp_path / "n.txt"
    numbers.write_text("".join(f"0912{index:07d}\n" for index in range(250)), encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    down = closed_port_url()
    result = invoke(
        ["--base-url", down, "campaign", "run", str(numbers), "-m", "hi", "-j", str(journal)]
    )
    assert result.exit_code == 1
    assert f"cannot reach {down}: connection refused" in result.stderr
    assert "nothing was sent" in result.stdout
    assert "sent 250" not in result.stdout + result.stderr
    assert "resume with:" in result.stderr
    with Campaign.open(journal) as campaign:
        assert campaign.status().pending == 250
    with serving(fake) as url:
        resumed = invoke(["--base-url", url, "--json", "campaign", "resume", str(journal)])
    assert resumed.exit_code == 0, resumed.stderr
    sent = [d.number for d in fake.deliveries]
    assert len(sent) == len(set(sent)) == 250


def test_message_over_the_account_limit_is_refused_before_the_journal(tmp_path: Path) -> None:
    """APIGetLimits says the message is too long: exit 2 with the limit, no journal, no send."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, limits=LimitsConfig(message=10)))
    numbers = tmp_path / "n.txt"
    numbers.write_text("09121234567\n", encoding="utf-8")
    with serving(fake) as url:
        result = invoke(campaign_run(url, numbers, tmp_path / "c.sqlite", "a message of 28 bytes"))
    assert result.exit_code == 2
    assert "at most 10" in result.stderr
    assert no_journal_files(tmp_path)
    assert fake.deliveries == []


def test_stop_a_resume_cannot_fix_says_how_to_fix_it(tmp_path: Path) -> None:
    """A 304 stop (limits unknown beforehand): no "resume with", but what to do instead."""
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, limits=LimitsConfig(message=10)),
        faults=Faults.of(FaultRule(kind=FaultKind.HTTP_ERROR, funcs="APIGetLimits")),
    )
    numbers = tmp_path / "n.txt"
    numbers.write_text("09121234567\n09121234568\n", encoding="utf-8")
    with serving(fake) as url:
        result = invoke(
            campaign_run(url, numbers, tmp_path / "c.sqlite", "a message of 28 bytes", json=True)
        )
    assert result.exit_code == 1
    assert "resume with" not in result.stderr
    assert "resuming cannot fix this" in result.stderr
    assert "shorter message" in result.stderr
    assert as_json(result)["resume"] is None


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (MessageTooLongError(304, "Message Too Long", "SendMessageMass"), "shorter message"),
        (PermissionDeniedError(309, "Permission Denied", "SendPhotoMass"), "grant it"),
    ],
)
def test_report_of_unfixable_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], error: Exception, advice: str
) -> None:
    """The summary of a run stopped by 304 or 309 gives the fix, not the resume command."""
    status = CampaignStatus(
        path=str(tmp_path / "c.sqlite"),
        kind=CampaignKind.MESSAGE,
        total=2,
        by_state={state: 2 if state is NumberState.PENDING else 0 for state in NumberState},
        chunks=1,
        chunks_done=1,
        chunks_in_doubt=0,
        in_doubt=0,
        runs=1,
        last_run="stopped",
    )
    run = CampaignRun(status=status, stopped=error, attempted=2, counts={"failed": 2})  # type: ignore[arg-type]
    code = report_run(Settings(), run, resume="miogram campaign resume c.sqlite", title="t")
    err = capsys.readouterr().err
    assert code == ExitCode.SERVICE_ERROR
    assert advice in err
    assert "resume with" not in err


def test_resume_retry_failed_sends_refused_numbers_again(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """campaign resume --retry-failed sends FAILED numbers again; without it they are left."""
    numbers = tmp_path / "n.txt"
    numbers.write_text("09121234567\n09121234568\n", encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    # 302: the front refused the request before forwarding it, a proven refusal (FAILED).
    fake.inject(FaultRule(kind=FaultKind.BAD_REQUEST, funcs="SendMessageMass", times=1))
    first = invoke(campaign_run(url, numbers, journal, "hi", json=True))
    assert first.exit_code == 3, first.stderr
    counts = as_json(first)["counts"]
    assert isinstance(counts, dict)
    assert counts["failed"] == 2
    plain = invoke(["--base-url", url, "--json", "campaign", "resume", str(journal)])
    assert plain.exit_code == 3
    assert fake.deliveries == []
    retried = invoke(
        ["--base-url", url, "--json", "campaign", "resume", str(journal), "--retry-failed"]
    )
    assert retried.exit_code == 0, retried.stderr
    assert sorted(d.number for d in fake.deliveries) == ["+989121234567", "+989121234568"]


def test_fake_serve_takes_the_module_flags() -> None:
    """`miogram fake serve` and `python -m miogram_async.testing` take the same flags."""
    help_text = invoke(["fake", "serve", "--help"]).stdout
    for flag in active_flags():
        assert flag.name in help_text
    assert "[8765]" in help_text
    parsed = argument_parser().parse_args(
        ["--agents", "3", "--realistic", "0.5", "--exist-ratio", "0.9"]
    )
    assert (parsed.port, parsed.agent_count, parsed.realistic, parsed.exist_ratio) == (
        8765,
        3,
        0.5,
        0.9,
    )


def test_fake_serve_refuses_agent_and_agents_together() -> None:
    """--agent with --agents is a usage error (exit 2) naming both."""
    result = invoke(["fake", "serve", "--agent", "A", "--agents", "2"])
    assert result.exit_code == 2
    assert "--agent NAME" in result.stderr


def test_demo_removes_its_folder_unless_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's temporary folder is gone after a finished run; --keep keeps it."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    args = ["demo", "--numbers", "150", "--scale", "0"]
    first = invoke(args)
    assert first.exit_code == 0, first.stderr
    assert "not sent:" in first.stderr
    assert "removed the demo's temporary journal" in first.stderr
    assert list(tmp_path.iterdir()) == []
    kept = invoke([*args, "--keep"])
    assert kept.exit_code == 0, kept.stderr
    (folder,) = tmp_path.iterdir()
    assert (folder / "campaign.sqlite").is_file()


def _all_commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _all_commands(sub, (*path, name))


def test_every_option_has_help_text() -> None:
    """Each option of each command explains itself in --help."""
    missing = [
        (" ".join(path), param.name)
        for path, command in _all_commands(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert missing == []


def _chained(top: APIConnectionError, *causes: BaseException) -> APIConnectionError:
    link: BaseException = top
    for cause in causes:
        link.__cause__ = cause
        link = cause
    return top


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            _chained(
                APIConnectionError("SendMessage: could not connect (ConnectError)", sent=False),
                OSError(-2, "Cannot connect to host"),
                socket.gaierror(-2, "Name or service not known"),
            ),
            "cannot reach https://x.example/dojob.php: host name not found (DNS)",
        ),
        (
            _chained(
                APIConnectionError("SendMessage: could not connect (ConnectError)", sent=False),
                ssl.SSLCertVerificationError(1, "certificate verify failed"),
            ),
            "cannot reach https://x.example/dojob.php: TLS certificate not accepted",
        ),
        (
            APITimeoutError("APIGetLimits: timed out connecting to the service (X)", sent=False),
            "cannot reach https://x.example/dojob.php: timed out connecting",
        ),
        (
            APITimeoutError(
                "SendMessage: timed out waiting for the reply (ReadTimeout)", sent=True
            ),
            "no reply from https://x.example/dojob.php: timed out waiting for the reply (the "
            "request may have reached the service)",
        ),
        (
            APIConnectionError("SendMessage: the connection broke (RemoteProtocolError)"),
            "no reply from https://x.example/dojob.php: the connection broke (the request may "
            "have reached the service)",
        ),
    ],
)
def test_transport_errors_in_plain_words(error: APIConnectionError, expected: str) -> None:
    """Transport errors name the URL and the plain cause, never an exception class."""
    message = connection_message(error, "https://x.example/dojob.php")
    assert message.startswith(expected)
    assert "Error" not in message
    assert "Timeout" not in message


def _status(tmp_path: Path, **states: int) -> CampaignStatus:
    by_state = {state: states.get(str(state), 0) for state in NumberState}
    return CampaignStatus(
        path=str(tmp_path / "c.sqlite"),
        kind=CampaignKind.MESSAGE,
        total=sum(by_state.values()),
        by_state=by_state,
        chunks=1,
        chunks_done=1,
        chunks_in_doubt=0,
        in_doubt=0,
        runs=1,
        last_run="finished",
    )


def test_a_run_whose_requests_never_left_is_a_service_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every attempted chunk never left (service gone mid-run): exit 1, the cause, resume hint."""
    run = CampaignRun(status=_status(tmp_path, pending=5), attempted=5, counts={"pending": 5})
    settings = Settings(base_url="http://127.0.0.1:9/dojob.php")
    code = report_run(settings, run, resume="miogram campaign resume c.sqlite", title="t")
    captured = capsys.readouterr()
    assert code == ExitCode.SERVICE_ERROR
    assert "cannot reach http://127.0.0.1:9/dojob.php" in captured.err
    assert "resume with:  miogram campaign resume c.sqlite" in captured.err
    assert "5 attempted" in captured.out
    assert "5 pending" in captured.out


def test_a_partly_delivered_run_is_partial_not_unreachable(tmp_path: Path) -> None:
    """Some numbers reached the service: not "unreachable"; numbers left pending make it exit 3."""
    run = CampaignRun(
        status=_status(tmp_path, delivered=3, pending=2),
        attempted=5,
        counts={"delivered": 3, "pending": 2},
    )
    assert not run.unreachable
    assert run.exit_code == ExitCode.PARTIAL
