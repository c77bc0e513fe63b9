//! The configuration contract: the shared example is accepted as it is, and every kind of
//! mistake is reported with its file, line and a fix.

use crate::common;

use std::path::Path;

use upstate::config::Config;

const CONTRACT: &str = include_str!("../fixtures/contracts/upstate.example.toml");

/// The copies in tests/fixtures must stay identical to the contracts in ../shared/reference.
#[test]
fn contracts_match_shared() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    if !shared.is_dir() {
        // .ci/run sets this: there the comparison must happen, never be skipped.
        assert!(
            std::env::var_os("UPSTATE_REQUIRE_SHARED").is_none(),
            "../shared/reference is not beside this checkout, and UPSTATE_REQUIRE_SHARED is set"
        );
        eprintln!("../shared/reference is not beside this checkout; comparing nothing");
        return;
    }
    for name in [
        "status.schema.json",
        "upstate.example.toml",
        "incident.example.md",
        "maintenance.example.md",
    ] {
        let ours = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/contracts")
                .join(name),
        )
        .unwrap();
        let theirs = std::fs::read_to_string(shared.join(name)).unwrap();
        assert_eq!(
            ours, theirs,
            "tests/fixtures/contracts/{name} differs from ../shared/reference/{name}"
        );
    }
}

fn set_contract_env() {
    for (k, v) in [
        (
            "DATABASE_URL",
            "postgres://app:pw-contract-1@127.0.0.1:5432/test",
        ),
        ("S3_ENDPOINT", "http://127.0.0.1:9000"),
        ("S3_ACCESS_KEY_ID", "AKIACONTRACT"),
        ("S3_SECRET_ACCESS_KEY", "contract-secret-key"),
        ("APNS_KEY_FILE", "/nonexistent/AuthKey.p8"),
        ("FCM_SERVICE_ACCOUNT", "/nonexistent/fcm.json"),
        ("API_HEALTH_TOKEN", "contract-token"),
        ("STATUS_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
        ("STATUS_WEBHOOK_SECRET", "hook-secret"),
    ] {
        // SAFETY: every test in this binary that reads these sets the same values.
        unsafe { std::env::set_var(k, v) };
    }
}

#[test]
fn the_contract_example_is_accepted_as_it_is() {
    set_contract_env();
    let config = Config::parse(CONTRACT, Path::new("upstate.example.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&str> = config.components.iter().map(|c| c.probe.kind()).collect();
    assert_eq!(
        kinds,
        [
            "postgres",
            "redis",
            "heartbeat",
            "workers",
            "storage",
            "push",
            "http",
            "tls",
            "dns",
            "tcp",
            "websocket"
        ]
    );
    assert_eq!(config.site.poll_interval.to_string(), "30s");
    assert_eq!(config.components[0].fail_after, 2);
    assert_eq!(
        config.components[6].group.as_deref(),
        Some("Public endpoints")
    );
    assert_eq!(config.notify.len(), 1);
    assert!(config.snapshot.is_some());
    // Secrets never print, even through Debug.
    let debug = format!("{config:?}");
    for secret in [
        "pw-contract-1",
        "contract-secret-key",
        "contract-token",
        "hook-secret",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked through Debug");
    }
}

#[test]
fn the_contract_example_checks_through_the_cli() {
    set_contract_env();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upstate.toml"), CONTRACT).unwrap();
    let out = common::upstate()
        .arg("check")
        .arg("--config")
        .arg(dir.path().join("upstate.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
}

fn errors(text: &str) -> Vec<String> {
    match Config::parse(text, Path::new("u.toml")) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{}:{}: {} | {}",
                    e.line,
                    e.column,
                    e.message,
                    e.help.clone().unwrap_or_default()
                )
            })
            .collect(),
    }
}

/// r19: the header logo is a file of the site, never another host's URL or a path out of it.
#[test]
fn a_logo_is_a_path_inside_the_site() {
    for bad in [
        "https://cdn.example.com/logo.svg",
        "../secret.svg",
        "/etc/logo.svg",
        "a//b.svg",
    ] {
        let text = format!("[site]\ntitle = \"x\"\nlogo = \"{bad}\"\n");
        assert_eq!(
            errors(&text),
            [format!(
                "3:8: `logo` `{bad}` is not a path inside the site | put the image in static/ and write e.g. logo = \"logo.svg\" (no URL: the page makes no request to another host)"
            )],
            "{bad}"
        );
    }
    assert!(errors("[site]\nlogo = \"img/logo.svg\"\n").is_empty());
}

#[test]
fn table_of_mistakes() {
    let cases: [(&str, &str); 10] = [
        (
            "[sitee]\ntitle = \"x\"\n",
            "1:2: unknown table `sitee` | did you mean `[site]`?",
        ),
        (
            "[site]\ntitel = \"x\"\n",
            "2:1: unknown key `titel` in [site] | did you mean `title`?",
        ),
        (
            "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"htp\"\nurl = \"http://x\"\n",
            "4:8: unknown component kind `htp` | did you mean `http`?",
        ),
        (
            "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"http\"\nurll = \"http://x\"\n",
            "5:1: unknown key `urll` in [[component]] | did you mean `url`?",
        ),
        (
            "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"tcp\"\naddress = \"x:1\"\ntimout = \"1s\"\n",
            "6:1: unknown key `timout` in [[component]] | did you mean `timeout`?",
        ),
        (
            "[[component]]\nid = \"A b\"\nlabel = \"A\"\nkind = \"tcp\"\naddress = \"x:1\"\n",
            "2:1: component id `A b` must match [a-z0-9_-]+",
        ),
        (
            "[[component]]\nlabel = \"A\"\nkind = \"tcp\"\naddress = \"x:1\"\n",
            "1:1: missing field `id` | add `id = ...` to this section",
        ),
        (
            "[run]\nconcurrency = \"many\"\n",
            "2:15: invalid type: string \"many\", expected usize",
        ),
        (
            "[site]\nbase_url = \"status.example.com\"\n",
            "2:12: `base_url` must be an absolute http(s) URL",
        ),
        (
            "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"storage\"\n",
            "4:8: a storage component needs exactly one of `path` and `bucket`",
        ),
    ];
    for (text, want) in cases {
        let got = errors(text);
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "for:\n{text}\nwant prefix: {want}\ngot: {got:#?}"
        );
    }
}

#[test]
fn duplicate_ids_and_several_errors_at_once() {
    let text = "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"tcp\"\naddress = \"x:1\"\n\n[[component]]\nid = \"a\"\nlabel = \"A2\"\nkind = \"tcp\"\naddress = \"x:2\"\n\n[[component]]\nid = \"b\"\nlabel = \"B\"\nkind = \"http\"\nurl = \"http://x\"\nlatency_target = \"fast\"\n";
    let got = errors(text);
    assert_eq!(got.len(), 2, "{got:#?}");
    // In file order.
    assert!(
        got[0].starts_with("7:1: component id `a` is used twice (first on line 1)"),
        "{got:#?}"
    );
    assert!(
        got[1].starts_with("18:18: invalid duration `fast`"),
        "{got:#?}"
    );
}

/// Issue 15: every unknown key of a component is reported where it is, in file order (serde
/// stops at the first), up to 20, then one error says how many more there are.
#[test]
fn r15_unknown_keys_are_all_reported_up_to_twenty_then_counted() {
    let head = "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"http\"\nurl = \"http://x\"\n";
    let got = errors(&format!("{head}zeta = 1\ntimout = \"1s\"\nalpha = 2\n"));
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].starts_with("6:1: unknown key `zeta` in [[component]] | known keys here: "));
    assert!(
        got[0].contains("url") && got[0].contains("latency_target"),
        "{got:?}"
    );
    assert_eq!(
        got[1],
        "7:1: unknown key `timout` in [[component]] | did you mean `timeout`?"
    );
    assert!(
        got[2].starts_with("8:1: unknown key `alpha` in [[component]]"),
        "{got:?}"
    );

    let mut text = head.to_owned();
    for i in 0..25 {
        text.push_str(&format!("unknown_{i:02} = 1\n"));
    }
    let got = errors(&text);
    assert_eq!(got.len(), 21, "{got:#?}");
    for (i, e) in got.iter().take(20).enumerate() {
        assert!(
            e.starts_with(&format!("{}:1: unknown key `unknown_{i:02}`", 6 + i)),
            "{e}"
        );
    }
    assert!(
        got[20].starts_with(
            "26:1: 5 more unknown keys in this [[component]] (only the first 20 are listed)"
        ),
        "{}",
        got[20]
    );
}

/// A component of 20,000 unknown keys is read and reported in 21 errors, not 20,000 (the `hot`
/// bench `parse_config_unknown_keys` times 100,000, which took 53 s before the fix).
#[test]
fn r15_twenty_thousand_unknown_keys_give_twenty_one_errors() {
    let mut text =
        "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"http\"\nurl = \"http://x\"\n"
            .to_owned();
    for i in 0..20_000 {
        text.push_str(&format!("unknown_{i} = 1\n"));
    }
    let got = errors(&text);
    assert_eq!(got.len(), 21);
    assert!(got[20].contains("19980 more unknown keys"), "{}", got[20]);
}

#[test]
fn syntax_errors_point_at_the_line() {
    let got = errors("[site]\ntitle = \"unclosed\n");
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("2:"), "{got:?}");
}

#[test]
fn the_push_outbox_runs_on_the_snapshot_dsn_unless_it_has_its_own() {
    let text = "[snapshot]\ndsn = \"postgres://u@127.0.0.1/snapshot\"\n\n[[component]]\nid = \"push\"\nlabel = \"Push\"\nkind = \"push\"\noutbox = \"SELECT 1\"\n";
    let config = Config::parse(text, Path::new("u.toml")).unwrap();
    let upstate::probe::ProbeSpec::Push(p) = &config.components[0].probe else {
        panic!()
    };
    assert_eq!(
        p.dsn.as_ref().map(|d| d.expose().to_owned()),
        Some("postgres://u@127.0.0.1/snapshot".to_owned())
    );
    let errors = errors(
        "[[component]]\nid = \"push\"\nlabel = \"Push\"\nkind = \"push\"\noutbox = \"SELECT 1\"\n",
    );
    assert!(
        errors[0].starts_with("1:1: the push `outbox` query needs a database"),
        "{errors:?}"
    );
}

/// Issue 16: an unknown key hides no other error of its table, and a bad value none after it:
/// in a plain table, in a component's shared keys and its kind's own, and in a notify target.
#[test]
fn r16_an_unknown_key_hides_no_other_error_in_its_table() {
    let text = "[site]\ntitel = \"x\"\nbase_url = \"notaurl\"\n\n[run]\nconcurrency = \"many\"\ntimout = \"1s\"\nstale_after = \"soon\"\n\n[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"tcp\"\naddress = \"x:1\"\nfoo = 1\ntimeout = \"fast\"\n\n[[notify]]\nkind = \"webhook\"\nurl = \"https://hooks.example.com/x\"\nurll = \"y\"\ntimeout = \"later\"\n";
    let got = errors(text);
    for want in [
        "2:1: unknown key `titel` in [site] | did you mean `title`?",
        "3:12: `base_url` must be an absolute http(s) URL",
        "6:15: invalid type: string \"many\", expected usize",
        "7:1: unknown key `timout` in [run] | did you mean `timeout`?",
        "8:15: invalid duration `soon`",
        "15:1: unknown key `foo` in [[component]]",
        "16:11: invalid duration `fast`",
        "21:1: unknown key `urll` in [[notify]] | did you mean `url`?",
        "22:11: invalid duration `later`",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "want {want}\ngot: {got:#?}"
        );
    }
    assert_eq!(got.len(), 9, "each error once: {got:#?}");
}

/// A key whose value was wrong and set aside is not reported missing as well.
#[test]
fn r16_a_bad_required_value_is_not_also_missing() {
    let got = errors("[[component]]\nid = 5\nlabel = \"A\"\nkind = \"tcp\"\naddress = \"x:1\"\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("2:6: invalid type"), "{got:#?}");
}

/// A websocket `url` or a heartbeat `source` that `run` could only report as an outage is an
/// error `check` reports on its own line (not on `kind`'s).
#[test]
fn r16_websocket_url_and_heartbeat_source_are_judged_on_their_line() {
    let got = errors(
        "[[component]]\nid = \"ws\"\nlabel = \"WS\"\nkind = \"websocket\"\nurl = \"http://x.test/socket\"\n\n[[component]]\nid = \"hb\"\nlabel = \"HB\"\nkind = \"heartbeat\"\nsource = \"http://x.test\"\nkey = \"k\"\nmax_age = \"5m\"\ndown_after = \"15m\"\n",
    );
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].starts_with("5:7: `url` must start with ws:// or wss:// | write url = "),
        "{got:#?}"
    );
    assert!(
        got[1].starts_with("11:10: `source` must be a redis:// or postgres:// URL | "),
        "{got:#?}"
    );
    let fine = errors(
        "[[component]]\nid = \"ws\"\nlabel = \"WS\"\nkind = \"websocket\"\nurl = \"wss://x.test/socket\"\n\n[[component]]\nid = \"hb\"\nlabel = \"HB\"\nkind = \"heartbeat\"\nsource = \"redis://127.0.0.1:6379/0\"\nkey = \"k\"\nmax_age = \"5m\"\ndown_after = \"15m\"\n",
    );
    assert!(fine.is_empty(), "{fine:#?}");
}

/// Issue 16: sub-tables read the same whichever way TOML writes them: a header block
/// (`[component.expect_json]`), several blocks of one array (`[[objective.burn_alerts]]`),
/// dotted keys (`headers.A = …`); a mistake in the second block of an array is reported, never
/// dropped with its block, and an unknown sub-table is named at its key.
#[test]
fn sub_tables_in_every_toml_form() {
    let valid = "[site]\ntitle = \"T\"\n\n\
        [[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"https://example.com/\"\n\
        headers.Authorization = \"Bearer x\"\nheaders.X-Two = \"y\"\n\n\
        [component.expect_json]\n\"/status\" = \"ok\"\n\n\
        [[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"http\"\nurl = \"https://example.com/\"\n\n\
        [component.headers]\nA = \"b\"\n\n\
        [[notify]]\nname = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"k\"\n\n\
        [[objective]]\nname = \"API\"\ncomponents = [\"api\"]\ntarget = \"99.5%\"\nwindow = \"30d\"\n\n\
        [[objective.burn_alerts]]\nbudget = \"2%\"\nlong = \"1h\"\nshort = \"5m\"\n\n\
        [[objective.burn_alerts]]\nbudget = \"5%\"\nlong = \"6h\"\nshort = \"30m\"\n";
    let config = Config::parse(valid, Path::new("u.toml")).unwrap_or_else(|e| panic!("{e}"));
    let http = |i: usize| match &config.components[i].probe {
        upstate::probe::ProbeSpec::Http(h) => h.clone(),
        other => panic!("{other:?}"),
    };
    let api = http(0);
    assert_eq!(
        api.headers.keys().collect::<Vec<_>>(),
        ["Authorization", "X-Two"]
    );
    assert_eq!(api.expect_json.len(), 1);
    assert_eq!(http(1).headers.len(), 1);
    assert_eq!(config.objectives[0].burn_alerts.0.len(), 2);

    let broken = valid
        .replace("short = \"30m\"", "shrot = \"30m\"")
        .replace("[component.headers]", "[component.headerz]");
    let Err(err) = Config::parse(&broken, Path::new("u.toml")) else {
        panic!("both mistakes are errors");
    };
    let err = err.to_string();
    assert!(err.contains("unknown key `shrot`"), "{err}");
    assert!(err.contains("unknown key `headerz`"), "{err}");
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!("u.toml:{}:12", line_of("[component.headerz]"))),
        "the key, not the bracket: {err}"
    );
    assert!(
        err.contains(&format!("u.toml:{}:1", line_of("shrot"))),
        "{err}"
    );
}
