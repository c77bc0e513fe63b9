//! Every `[[notify]]` kind against a local receiver that checks the request the real service
//! documents (method, path, headers, body shape), driven through the CLI as a schedule would:
//! pages pair trigger and resolve across runs, maintenance suppresses them, `page_after` holds
//! them back, `notify test` reports the receiver's answer, and no secret reaches a log line.

use crate::common;

use std::net::{SocketAddr, TcpListener};
use std::thread;

use crate::common::receiver::Receiver;
use crate::common::{TestSite, text};
use serde_json::Value;

/// A site with one HTTP component `web` (labelled with markup that must arrive as text) and
/// the given `[[notify]]` sections.
fn http_site(http: SocketAddr, path: &str, notify: &str) -> TestSite {
    TestSite::new(&format!(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web <b>*edge*</b> @everyone\"\nkind = \"http\"\nurl = \"http://{http}/{path}\"\n\n{notify}"
    ))
}

fn set(site: &TestSite, from: &str, to: &str) {
    let config = std::fs::read_to_string(site.config())
        .unwrap()
        .replace(from, to);
    std::fs::write(site.config(), config).unwrap();
}

fn run(site: &TestSite) -> String {
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    text(&out)
}

/// `upstate run` at trace level; returns everything it logged.
fn run_traced(site: &TestSite) -> String {
    let out = common::upstate()
        .env("UPSTATE_LOG", "trace")
        .args(["run", "--config"])
        .arg(site.config())
        .output()
        .unwrap();
    text(&out)
}

/// Goes down, then up: a chat target's baseline run, then one failing run.
fn one_change(site: &TestSite) {
    run(site);
    set(site, "/ok\"", "/fail\"");
    run(site);
}

const LABEL: &str = "Web <b>*edge*</b> @everyone";

#[test]
fn pagerduty_pages_once_per_outage_and_resolves_with_the_same_key_across_runs() {
    // A TCP component whose port is closed for two runs, then open again.
    let port = common::closed_port();
    let pd = Receiver::start(r#"{"status":"success","message":"Event processed"}"#);
    let site = TestSite::new(&format!(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"edge\"\nlabel = \"WebSocket edge\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{port}\"\npage = [\"oncall-pd\"]\n\n[[notify]]\nname = \"oncall-pd\"\nkind = \"pagerduty\"\nrouting_key = \"R0UT1NGKEY0123456789abcdef012345\"\nurl = \"{}\"\n",
        pd.url("/v2/enqueue")
    ));
    run(&site);
    run(&site);
    let open = TcpListener::bind(("127.0.0.1", port)).unwrap();
    run(&site);
    drop(open);
    let seen = pd.seen();
    assert_eq!(seen.len(), 2, "one trigger, one resolve: {seen:#?}");
    for r in &seen {
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/v2/enqueue");
        assert!(r.header("content-type").starts_with("application/json"));
    }
    let (trigger, resolve) = (seen[0].json(), seen[1].json());
    assert_eq!(trigger["routing_key"], "R0UT1NGKEY0123456789abcdef012345");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(
        trigger["payload"]["source"],
        "https://status.test/components/edge.html"
    );
    assert!(
        trigger["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("WebSocket edge is major outage"),
        "{trigger}"
    );
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["routing_key"], trigger["routing_key"]);
    let key = trigger["dedup_key"].as_str().unwrap();
    assert!(key.starts_with("upstate-edge-"), "{key}");
    assert_eq!(resolve["dedup_key"], key);
    assert!(resolve.get("payload").is_none(), "{resolve}");
    // Down again later: a new incident, a new key.
    run(&site);
    let seen = pd.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].json()["event_action"], "trigger");
    assert_ne!(seen[2].json()["dedup_key"], key);
}

#[test]
fn opsgenie_creates_by_alias_and_closes_by_alias() {
    let http = common::http_server();
    let og = Receiver::start(r#"{"result":"Request will be processed","requestId":"x"}"#);
    let site = http_site(
        http,
        "fail",
        &format!(
            "[[notify]]\nkind = \"opsgenie\"\napi_key = \"0psg3n13-key-aaaa-bbbb-cccc\"\nurl = \"{}\"\n",
            og.url("")
        ),
    );
    run(&site);
    run(&site);
    set(&site, "/fail\"", "/ok\"");
    run(&site);
    let seen = og.seen();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let create = &seen[0];
    assert_eq!(
        (create.method.as_str(), create.target.as_str()),
        ("POST", "/v2/alerts")
    );
    assert_eq!(
        create.header("authorization"),
        "GenieKey 0psg3n13-key-aaaa-bbbb-cccc"
    );
    let body = create.json();
    let alias = body["alias"].as_str().unwrap().to_owned();
    assert!(alias.starts_with("upstate-web-"), "{body}");
    assert_eq!(body["priority"], "P1");
    assert!(body["message"].as_str().unwrap().chars().count() <= 130);
    assert!(
        !create.body.contains("0psg3n13"),
        "the key travels in the header only"
    );
    let close = &seen[1];
    assert_eq!(close.method, "POST");
    assert_eq!(
        close.target,
        format!("/v2/alerts/{alias}/close?identifierType=alias")
    );
    assert_eq!(
        close.header("authorization"),
        "GenieKey 0psg3n13-key-aaaa-bbbb-cccc"
    );
    assert_eq!(close.json()["source"], "Upstate");
}

#[test]
fn alertmanager_gets_firing_alerts_renewed_then_ended() {
    let http = common::http_server();
    let am = Receiver::start("");
    let site = http_site(
        http,
        "fail",
        &format!(
            "[[notify]]\nkind = \"alertmanager\"\nurl = \"{}\"\n",
            am.url("/")
        ),
    );
    run(&site);
    run(&site);
    set(&site, "/fail\"", "/ok\"");
    run(&site);
    let seen = am.seen();
    assert_eq!(
        seen.len(),
        3,
        "fired, renewed while still down, ended: {seen:#?}"
    );
    let alerts: Vec<Value> = seen
        .iter()
        .map(|r| {
            assert_eq!(
                (r.method.as_str(), r.target.as_str()),
                ("POST", "/api/v2/alerts")
            );
            let array = r.json();
            assert_eq!(array.as_array().unwrap().len(), 1);
            array[0].clone()
        })
        .collect();
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    for a in &alerts {
        assert_eq!(a["labels"]["alertname"], "UpstateComponentUnhealthy");
        assert_eq!(a["labels"]["component"], "web");
        assert_eq!(a["labels"]["severity"], "critical");
        assert_eq!(a["startsAt"], alerts[0]["startsAt"]);
        assert_eq!(a["generatorURL"], "https://status.test/components/web.html");
        assert!(a["annotations"]["summary"].is_string());
    }
    // Firing alerts end in the future (a few run intervals); the resolve ends them now.
    assert!(time(&alerts[0]["endsAt"]) > time(&alerts[0]["startsAt"]));
    assert!(time(&alerts[2]["endsAt"]) < time(&alerts[1]["endsAt"]));
}

#[test]
fn discord_gets_an_escaped_embed_that_pings_no_one() {
    let http = common::http_server();
    let rx = Receiver::start("");
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nkind = \"discord\"\nurl = \"{}\"\n",
            rx.url("/api/webhooks/123/t0ken-discord")
        ),
    );
    one_change(&site);
    let seen = rx.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let r = &seen[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/api/webhooks/123/t0ken-discord")
    );
    assert!(r.header("content-type").starts_with("application/json"));
    let body = r.json();
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    let embed = &body["embeds"][0];
    assert_eq!(embed["url"], "https://status.test/components/web.html");
    assert_eq!(embed["color"], 0xD9_3025);
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.starts_with("Web \\<b\\>\\*edge\\*\\</b\\> \\@everyone is now major outage"),
        "{description}"
    );
}

#[test]
fn teams_gets_an_adaptive_card_message() {
    let http = common::http_server();
    let rx = Receiver::start("");
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nkind = \"teams\"\nurl = \"{}\"\n",
            rx.url("/workflows/abc/triggers/manual/paths/invoke?sig=t3ams-sig")
        ),
    );
    one_change(&site);
    let seen = rx.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.target,
        "/workflows/abc/triggers/manual/paths/invoke?sig=t3ams-sig"
    );
    let body = r.json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    let text = card["body"][1]["text"].as_str().unwrap();
    assert!(text.contains("\\<b\\>\\*edge\\*"), "{text}");
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(
        card["actions"][0]["url"],
        "https://status.test/components/web.html"
    );
}

#[test]
fn telegram_sends_escaped_html_to_the_bot_api() {
    let http = common::http_server();
    let rx = Receiver::start(r#"{"ok":true,"result":{"message_id":1}}"#);
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nkind = \"telegram\"\nbot_token = \"123456:T3l3gramS3cretT0ken\"\nchat_id = \"-100200300\"\nurl = \"{}\"\n",
            rx.url("")
        ),
    );
    one_change(&site);
    let seen = rx.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let r = &seen[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/bot123456:T3l3gramS3cretT0ken/sendMessage")
    );
    let body = r.json();
    assert_eq!(body["chat_id"], "-100200300");
    assert_eq!(body["parse_mode"], "HTML");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("Web &lt;b&gt;*edge*&lt;/b&gt; @everyone is now major outage"),
        "{text}"
    );
    assert!(text.contains("<a href=\"https://status.test/components/web.html\">"));
    assert!(!r.body.contains("T3l3gramS3cretT0ken"));
}

#[test]
fn ntfy_publishes_plain_text_with_title_priority_and_tags() {
    let http = common::http_server();
    let rx = Receiver::start(r#"{"id":"x","event":"message"}"#);
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nkind = \"ntfy\"\nurl = \"{}\"\ntoken = \"tk_ntfys3cr3t0000\"\n",
            rx.url("/upstate-alerts")
        ),
    );
    one_change(&site);
    let seen = rx.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let r = &seen[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/upstate-alerts")
    );
    assert_eq!(r.header("title"), format!("{LABEL}: major outage"));
    assert_eq!(r.header("priority"), "5");
    assert_eq!(r.header("tags"), "rotating_light,upstate");
    assert_eq!(r.header("click"), "https://status.test/components/web.html");
    assert_eq!(r.header("authorization"), "Bearer tk_ntfys3cr3t0000");
    assert!(r.header("content-type").starts_with("text/plain"));
    assert!(
        r.body
            .starts_with(&format!("{LABEL} is now major outage (was operational)")),
        "{}",
        r.body
    );
}

#[test]
fn a_webhook_template_makes_any_body() {
    let http = common::http_server();
    let rx = Receiver::start("");
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nkind = \"webhook\"\nurl = \"{}\"\ncontent_type = \"application/vnd.custom+json\"\ntemplate = '''{{\"msg\": {{{{ event.summary | json }}}}, \"kind\": \"{{{{ event.type }}}}\", \"link\": {{{{ event.url | json }}}}}}'''\n",
            rx.url("/custom")
        ),
    );
    one_change(&site);
    let seen = rx.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(
        seen[0].header("content-type"),
        "application/vnd.custom+json"
    );
    let body = seen[0].json();
    assert_eq!(body["kind"], "component.state_changed");
    assert_eq!(
        body["msg"],
        format!("{LABEL} is now major outage (was operational): HTTP 500")
    );
    assert_eq!(body["link"], "https://status.test/components/web.html");
}

#[test]
fn a_broken_template_is_a_config_error_with_its_line() {
    let site = TestSite::new(
        "[site]\nbase_url = \"https://status.test\"\n\n[[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\ntemplate = \"{{ event.summary\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("upstate.toml:7:"), "{}", text(&out));
    assert!(
        text(&out).contains("`template` does not compile"),
        "{}",
        text(&out)
    );
}

#[test]
fn maintenance_suppresses_pages_and_page_after_holds_them_back() {
    let http = common::http_server();
    let pd = Receiver::start(r#"{"status":"success"}"#);
    let site = http_site(
        http,
        "fail",
        &format!(
            "[[notify]]\nkind = \"pagerduty\"\nrouting_key = \"pd-key-maintenance-0001\"\nurl = \"{}\"\n",
            pd.url("/v2/enqueue")
        ),
    );
    // A window covering `web` now: down inside it pages no one.
    let now = chrono::Utc::now();
    let window = site.incident(
        "2026-01-01-window.md",
        &format!(
            "---\ntitle: Edge upgrade\nkind: maintenance\nstatus: in_progress\ncomponents: [web]\nstarts_at: {}\nends_at: {}\n---\n",
            (now - chrono::Duration::hours(1)).to_rfc3339(),
            (now + chrono::Duration::hours(2)).to_rfc3339()
        ),
    );
    run(&site);
    run(&site);
    assert!(pd.seen().is_empty(), "{:#?}", pd.seen());
    // The window is withdrawn; with page_after = 1h, two more failing runs still page no one.
    std::fs::remove_file(window).unwrap();
    set(
        &site,
        "kind = \"http\"",
        "kind = \"http\"\npage_when = \"degraded\"\npage_after = \"1h\"",
    );
    run(&site);
    run(&site);
    assert!(pd.seen().is_empty(), "{:#?}", pd.seen());
    // page_after = 0s: the condition has held long enough; one trigger.
    set(&site, "page_after = \"1h\"", "page_after = \"0s\"");
    run(&site);
    run(&site);
    let seen = pd.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].json()["event_action"], "trigger");
}

/// An incident with `suppress_pages: true` holds back new pages for its components while it is
/// open (on-call already works on it), but lets an open page resolve; once it is resolved a
/// component still down pages at once.
#[test]
fn an_incident_can_suppress_re_paging_while_it_is_open() {
    let http = common::http_server();
    let pd = Receiver::start(r#"{"status":"success"}"#);
    let site = http_site(
        http,
        "fail",
        &format!(
            "[[notify]]\nkind = \"pagerduty\"\nrouting_key = \"pd-key-suppress-0001\"\nurl = \"{}\"\n",
            pd.url("/v2/enqueue")
        ),
    );
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let incident = |status: &str, suppress: bool| {
        let resolved = if status == "resolved" {
            format!("resolved_at: {}\n", chrono::Utc::now().to_rfc3339())
        } else {
            String::new()
        };
        site.incident(
            "2026-01-03-edge.md",
            &format!(
                "---\ntitle: Edge errors\nseverity: major\nstatus: {status}\ncomponents: [web]\ndiscovered_at: {since}\n{resolved}suppress_pages: {suppress}\n---\n"
            ),
        );
    };
    incident("identified", true);
    run(&site);
    run(&site);
    assert!(pd.seen().is_empty(), "suppressed: {:#?}", pd.seen());
    // Without the key the same open incident pages as usual (checked, then put back).
    incident("identified", false);
    run(&site);
    assert_eq!(pd.seen().len(), 1, "{:#?}", pd.seen());
    let key = pd.seen()[0].json()["dedup_key"].clone();
    // Suppressing again: the open page still resolves when the edge recovers...
    incident("identified", true);
    set(&site, "/fail\"", "/ok\"");
    run(&site);
    let seen = pd.seen();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[1].json()["event_action"], "resolve");
    assert_eq!(seen[1].json()["dedup_key"], key);
    // ...and the flap that follows pages no one while the incident is open.
    set(&site, "/ok\"", "/fail\"");
    run(&site);
    assert_eq!(pd.seen().len(), 2, "{:#?}", pd.seen());
    // Resolved: the edge is still down, so on-call is paged now, with a new key.
    incident("resolved", true);
    run(&site);
    let seen = pd.seen();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert_eq!(seen[2].json()["event_action"], "trigger");
    assert_ne!(seen[2].json()["dedup_key"], key);
}

#[test]
fn naming_a_target_routes_only_those_components_pages_to_it() {
    let http = common::http_server();
    let oncall = Receiver::start(r#"{"ok":true}"#);
    let everything = Receiver::start("");
    let site = TestSite::new(&format!(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\npage = [\"oncall\"]\n\n[[component]]\nid = \"docs\"\nlabel = \"Docs\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n[[notify]]\nname = \"oncall\"\nkind = \"ntfy\"\nurl = \"{}\"\n\n[[notify]]\nkind = \"slack\"\nurl = \"{}\"\n",
        oncall.url("/oncall"),
        everything.url("/slack")
    ));
    run(&site);
    // Docs goes down: the chat channel hears of it, on-call does not.
    let config = std::fs::read_to_string(site.config()).unwrap();
    let docs_down = config.replacen(
        &format!("id = \"docs\"\nlabel = \"Docs\"\nkind = \"http\"\nurl = \"http://{http}/ok\""),
        &format!("id = \"docs\"\nlabel = \"Docs\"\nkind = \"http\"\nurl = \"http://{http}/fail\""),
        1,
    );
    std::fs::write(site.config(), &docs_down).unwrap();
    run(&site);
    assert!(oncall.seen().is_empty(), "{:#?}", oncall.seen());
    assert_eq!(everything.seen().len(), 1);
    // The API goes down: on-call is paged.
    std::fs::write(
        site.config(),
        docs_down.replacen(
            &format!("http://{http}/ok"),
            &format!("http://{http}/fail"),
            1,
        ),
    )
    .unwrap();
    run(&site);
    let paged = oncall.seen();
    assert_eq!(paged.len(), 1, "{paged:#?}");
    assert_eq!(paged[0].header("title"), "API: major outage");
    assert_eq!(everything.seen().len(), 2);
}

#[test]
fn an_unknown_page_target_is_a_config_error_with_its_line() {
    let site = TestSite::new(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\npage = [\"oncal\"]\n\n[[notify]]\nname = \"oncall\"\nkind = \"pagerduty\"\nrouting_key = \"k\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("upstate.toml:9:"), "{all}");
    assert!(
        all.contains("component `api` pages `oncal`, but no [[notify]] has that name"),
        "{all}"
    );
    assert!(all.contains("did you mean `oncall`?"), "{all}");
}

#[test]
fn a_key_of_another_kind_is_refused_with_its_line() {
    let site = TestSite::new(
        "[site]\nbase_url = \"https://status.test\"\n\n[[notify]]\nkind = \"discord\"\nurl = \"http://127.0.0.1:9/x\"\nrouting_key = \"k\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("upstate.toml:7:"), "{all}");
    assert!(
        all.contains("unknown key `routing_key` in [[notify]]"),
        "{all}"
    );
}

#[test]
fn notify_test_prints_the_answer_and_fails_when_refused() {
    let rx = Receiver::start(r#"{"ok":true,"result":{"message_id":42}}"#);
    let site = TestSite::new(&format!(
        "[site]\ntitle = \"Example\"\nbase_url = \"https://status.test\"\n\n[[notify]]\nname = \"team-chat\"\nkind = \"telegram\"\nbot_token = \"999:T3stT0kenNeverPrinted\"\nchat_id = \"42\"\nurl = \"{}\"\n\n[[notify]]\nkind = \"pagerduty\"\nrouting_key = \"pd-test-key-00000001\"\nurl = \"{}\"\n",
        rx.url(""),
        rx.url("/v2/enqueue")
    ));
    let out = site.cmd(&["notify", "test", "team-chat"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("HTTP 200"), "{all}");
    assert!(all.contains("message_id"), "{all}");
    let sent = rx.seen();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].json()["text"].as_str().unwrap().contains("[TEST]"),
        "{}",
        sent[0].body
    );
    // The second target, by position: a paging kind gets a test trigger and its resolve.
    let out = site.cmd(&["notify", "test", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sent = rx.seen();
    assert_eq!(sent.len(), 3);
    let (trigger, resolve) = (sent[1].json(), sent[2].json());
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "info");
    assert!(
        trigger["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[TEST]")
    );
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    // Refused: exit 1, the answer printed, the token (echoed by the receiver) redacted.
    rx.answer(
        "401 Unauthorized",
        r#"{"ok":false,"description":"Unauthorized: 999:T3stT0kenNeverPrinted"}"#,
    );
    let out = site.cmd(&["notify", "test", "team-chat"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("HTTP 401"), "{all}");
    assert!(all.contains("Unauthorized: ***"), "{all}");
    assert!(!all.contains("T3stT0kenNeverPrinted"), "{all}");
    // An unknown target: exit 2, the known ones listed.
    let out = site.cmd(&["notify", "test", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("1 (team-chat), 2"), "{}", text(&out));
}

#[test]
fn no_secret_reaches_a_log_line_at_trace_level() {
    let http = common::http_server();
    // Every receiver refuses or fails, so errors are logged too.
    let rx = Receiver::start("");
    for _ in 0..40 {
        rx.answer("500 Internal Server Error", "");
    }
    let secrets = [
        "pdS3cretR0utingKey99",
        "ogS3cretApiKey99",
        "777:tgS3cretB0tT0ken99",
        "dcS3cretWebhookPath99",
        "tmS3cretSig99",
        "ntS3cretTopic99",
        "ntS3cretT0ken99",
        "whS3cretSigning99",
        "whS3cretQuery99",
    ];
    let notify = format!(
        "[[notify]]\nkind = \"pagerduty\"\nrouting_key = \"{}\"\nurl = \"{u}/v2/enqueue\"\ntimeout = \"1s\"\n\n\
         [[notify]]\nkind = \"opsgenie\"\napi_key = \"{}\"\nurl = \"{u}\"\ntimeout = \"1s\"\n\n\
         [[notify]]\nkind = \"telegram\"\nbot_token = \"{}\"\nchat_id = \"1\"\nurl = \"{u}\"\ntimeout = \"1s\"\n\n\
         [[notify]]\nkind = \"discord\"\nurl = \"{u}/api/webhooks/1/{}\"\ntimeout = \"1s\"\n\n\
         [[notify]]\nkind = \"teams\"\nurl = \"{u}/invoke?sig={}\"\ntimeout = \"1s\"\n\n\
         [[notify]]\nkind = \"ntfy\"\nurl = \"{u}/{}\"\ntoken = \"{}\"\ntimeout = \"1s\"\n\n\
         [[notify]]\nkind = \"webhook\"\nurl = \"{u}/hook?key={}\"\nsecret = \"{}\"\ntimeout = \"1s\"\n",
        secrets[0],
        secrets[1],
        secrets[2],
        secrets[3],
        secrets[4],
        secrets[5],
        secrets[6],
        secrets[7],
        secrets[8],
        u = rx.url(""),
    );
    let site = http_site(http, "ok", &notify);
    let mut logs = run_traced(&site);
    set(&site, "/ok\"", "/fail\"");
    logs.push_str(&run_traced(&site));
    logs.push_str(&run_traced(&site));
    assert!(
        logs.contains("failed after 3 attempts"),
        "the failures were logged: {logs}"
    );
    for line in logs.lines() {
        for secret in secrets {
            assert!(!line.contains(secret), "`{secret}` leaked: {line}");
        }
    }
    // Bodies carry no secret that belongs in a header or URL.
    for r in rx.seen() {
        for secret in &secrets[1..] {
            assert!(!r.body.contains(secret), "`{secret}` in a body: {}", r.body);
        }
    }
}

#[test]
fn the_notify_example_is_a_valid_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/notify.example.toml");
    let site = TestSite::new(&std::fs::read_to_string(example).unwrap());
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let config = std::fs::read_to_string(example).unwrap();
    for kind in [
        "webhook",
        "slack",
        "discord",
        "teams",
        "telegram",
        "ntfy",
        "email",
        "pagerduty",
        "opsgenie",
        "alertmanager",
    ] {
        assert!(
            config.contains(&format!("kind = \"{kind}\"")),
            "no {kind} example"
        );
    }
}

/// A small SMTP server with STARTTLS (RFC 3207) and AUTH PLAIN: enough of RFC 5321 for a real
/// client, recording every command with whether TLS was up when it came.
mod smtp {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt};

    /// A self-signed certificate for 127.0.0.1: (cert and key, PEM of the cert).
    pub fn cert() -> (rcgen::CertifiedKey<rcgen::KeyPair>, String) {
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let pem = key.cert.pem();
        (key, pem)
    }

    #[derive(Default, Debug, Clone)]
    pub struct Log {
        /// (command line, TLS up).
        pub commands: Vec<(String, bool)>,
        pub data: Vec<String>,
    }

    /// Starts the server; returns its port, the CA PEM to trust, and the log.
    pub fn start() -> (u16, String, Arc<Mutex<Log>>) {
        let (key, pem) = cert();
        let chain = vec![key.cert.der().clone()];
        let private = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()),
        );
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = Arc::clone(&log);
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((tcp, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    let log = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let _ = session(tcp, acceptor, log).await;
                    });
                }
            });
        });
        (port, pem, log)
    }

    async fn session(
        tcp: tokio::net::TcpStream,
        acceptor: tokio_rustls::TlsAcceptor,
        log: Arc<Mutex<Log>>,
    ) -> std::io::Result<()> {
        let mut plain = tokio::io::BufReader::new(tcp);
        plain
            .get_mut()
            .write_all(b"220 127.0.0.1 ESMTP test\r\n")
            .await?;
        loop {
            let mut line = String::new();
            if plain.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            log.lock().unwrap().commands.push((command.clone(), false));
            let verb = command.to_ascii_uppercase();
            if verb.starts_with("EHLO") {
                plain
                    .get_mut()
                    .write_all(b"250-127.0.0.1\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                    .await?;
            } else if verb.starts_with("STARTTLS") {
                plain
                    .get_mut()
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                break;
            } else if verb.starts_with("QUIT") {
                plain.get_mut().write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else {
                plain
                    .get_mut()
                    .write_all(b"530 5.7.0 Must issue a STARTTLS command first\r\n")
                    .await?;
            }
        }
        let tls = acceptor.accept(plain.into_inner()).await?;
        secured(tokio::io::BufReader::new(tls), log).await
    }

    async fn secured<S: AsyncRead + AsyncWrite + Unpin>(
        mut stream: tokio::io::BufReader<S>,
        log: Arc<Mutex<Log>>,
    ) -> std::io::Result<()> {
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            log.lock().unwrap().commands.push((command.clone(), true));
            let verb = command.to_ascii_uppercase();
            let reply: &[u8] = if verb.starts_with("EHLO") {
                b"250-127.0.0.1\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            } else if verb.starts_with("AUTH PLAIN") {
                b"235 2.7.0 Authentication successful\r\n"
            } else if verb.starts_with("MAIL FROM") || verb.starts_with("RCPT TO") {
                b"250 2.1.0 Ok\r\n"
            } else if verb.starts_with("DATA") {
                stream
                    .get_mut()
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if stream.read_line(&mut l).await? == 0 || l == ".\r\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                log.lock().unwrap().data.push(data);
                b"250 2.0.0 Ok: queued as ABC123\r\n"
            } else if verb.starts_with("QUIT") {
                stream.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            } else if verb.starts_with("RSET") || verb.starts_with("NOOP") {
                b"250 2.0.0 Ok\r\n"
            } else {
                b"502 5.5.2 Command not recognized\r\n"
            };
            stream.get_mut().write_all(reply).await?;
            stream.get_mut().flush().await?;
        }
    }
}

#[test]
fn email_goes_through_starttls_with_the_login_and_never_shows_the_password() {
    let (port, pem, log) = smtp::start();
    let http = common::http_server();
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nname = \"mail\"\nkind = \"email\"\nsmtp = \"smtp://alerts%40example.com:Sm7pP%40ssw0rd99@127.0.0.1:{port}\"\nfrom = \"Status <status@example.com>\"\nto = [\"oncall@example.com\", \"lead@example.com\"]\nca_file = \"relay-ca.pem\"\ntimeout = \"5s\"\n"
        ),
    );
    std::fs::write(site.path().join("relay-ca.pem"), &pem).unwrap();
    run(&site);
    set(&site, "/ok\"", "/fail\"");
    let logs = run_traced(&site);
    let got = log.lock().unwrap().clone();
    assert_eq!(got.data.len(), 1, "{got:#?}\n{logs}");
    // STARTTLS came before anything but EHLO, and the login only over TLS.
    let first_secure = got.commands.iter().position(|(_, tls)| *tls).unwrap();
    assert!(
        got.commands[..first_secure]
            .iter()
            .all(|(c, _)| c.starts_with("EHLO") || c == "STARTTLS"),
        "{got:#?}"
    );
    let auth = got
        .commands
        .iter()
        .find(|(c, _)| c.starts_with("AUTH PLAIN"))
        .unwrap();
    assert!(auth.1, "AUTH over TLS only");
    assert_eq!(
        auth.0,
        format!(
            "AUTH PLAIN {}",
            upstate::notify::markup::base64(b"\0alerts@example.com\0Sm7pP@ssw0rd99")
        )
    );
    let rcpts: Vec<&str> = got
        .commands
        .iter()
        .filter(|(c, _)| c.starts_with("RCPT TO"))
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(
        rcpts,
        ["RCPT TO:<oncall@example.com>", "RCPT TO:<lead@example.com>"]
    );
    let data = &got.data[0];
    assert!(data.contains("From: Status <status@example.com>"), "{data}");
    assert!(data.contains("Subject: [Upstate] Web"), "{data}");
    assert!(data.contains("is now major outage"), "{data}");
    assert!(
        data.contains("https://status.test/components/web.html"),
        "{data}"
    );
    assert!(!data.contains("Sm7pP"), "{data}");
    assert!(
        !logs.contains("Sm7pP@ssw0rd99") && !logs.contains("Sm7pP%40ssw0rd99"),
        "{logs}"
    );
    // `notify test` over the same relay prints the server's answer.
    let out = site.cmd(&["notify", "test", "mail"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("SMTP 250"), "{all}");
    assert!(all.contains("queued as ABC123"), "{all}");
}

#[test]
fn how_we_run_the_service_is_generated_from_the_paging_rules() {
    let http = common::http_server();
    let site = TestSite::new(&format!(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\nlatency_target = \"200ms\"\npage = [\"pd\"]\npage_when = \"degraded\"\npage_after = \"2m\"\n\n[[component]]\nid = \"docs\"\nlabel = \"Docs\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\nfail_after = 3\n\n[[notify]]\nname = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"k-objectives-0001\"\nurl = \"http://127.0.0.1:9/\"\n"
    ));
    run(&site);
    let page = site.read_public("objectives.html");
    assert!(
        page.contains("<td>API</td><td>&lt; 200 ms (p95)</td><td>Degraded or down: latency &gt; 200 ms, or Probe fails (held for 2m)</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td>Docs</td><td>—</td><td>Not paged: shown on this page only</td>"),
        "{page}"
    );
    // The front page leaves that row out: "—" and "Not paged" says nothing there (r19).
    let index = site.read_public("index.html");
    assert!(index.contains("<td>API</td>"), "{index}");
    assert!(!index.contains("<td>Docs</td>"), "{index}");
    // Name no target: the PagerDuty target pages every component, each by its own rule.
    set(&site, "page = [\"pd\"]\n", "");
    run(&site);
    let page = site.read_public("objectives.html");
    assert!(
        page.contains("<td>Docs</td><td>—</td><td>Probe fails 3 consecutive checks</td>"),
        "{page}"
    );
}

#[test]
fn a_declared_incident_does_not_page_what_the_probes_see_up() {
    let http = common::http_server();
    let pd = Receiver::start(r#"{"status":"success"}"#);
    let site = http_site(
        http,
        "ok",
        &format!(
            "[[notify]]\nkind = \"pagerduty\"\nrouting_key = \"pd-key-incident-0001\"\nurl = \"{}\"\n",
            pd.url("/v2/enqueue")
        ),
    );
    site.incident(
        "2026-01-02-declared.md",
        &format!(
            "---\ntitle: Edge errors\nseverity: critical\nstatus: investigating\ncomponents: [web]\nimpact: major_outage\ndiscovered_at: {}\n---\n",
            (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339()
        ),
    );
    run(&site);
    run(&site);
    assert_eq!(site.status_json()["components"][0]["state"], "down");
    assert!(pd.seen().is_empty(), "{:#?}", pd.seen());
    set(&site, "/ok\"", "/fail\"");
    run(&site);
    assert_eq!(pd.seen().len(), 1, "the probe fails: now it pages");
}
