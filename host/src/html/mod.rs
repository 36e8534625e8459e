//! Sanitizing user-written rich HTML, with allowlisted embeds.
//!
//! Security rule: ammonia never allows `<iframe>` (nor any other raw-text
//! element: its mutation-XSS advisories all needed one). Embeds are recognised
//! *before* sanitizing from a provider URL (iframe `src`, link `href`, or a
//! paragraph holding only a bare URL), reduced to provider + validated id, and
//! re-emitted *after* sanitizing as an iframe built here from a fixed pattern.
//!
//! Pipeline of [`Sanitizer::clean`]:
//! 1. pre-pass (regex, on untrusted input): each iframe becomes a marker link
//!    `<a href=CANONICAL>CANONICAL</a>` if its `src` is recognised, and is
//!    removed otherwise. This is only for fidelity: safety comes from ammonia.
//! 2. ammonia with a strict [`ammonia::Builder`].
//! 3. post-pass over ammonia's well-formed output: links to a recognised URL
//!    and paragraphs holding only a recognised URL become host-built embeds.
//!
//! `clean(clean(x)) == clean(x)`: a host-built embed is recognised again by the
//! pre-pass (wrapper included) and comes out identical; [`Sanitizer::clean`]
//! also reruns the pipeline until stable, for the rare markup that does not
//! parse back to the same tree.
//!
//! Files: `embeds` (the providers, recognising their URLs, the iframes the host
//! builds), `sanitizer` (the pipeline above), `markup` (escaping and the small
//! tokenizer the post-pass walks ammonia's output with).

mod embeds;
mod guard;
mod markup;
mod sanitizer;

pub use embeds::{Embed, EmbedProvider};
pub use guard::guard;
pub use markup::escape;
pub use sanitizer::Sanitizer;

/// Checks on the tree a browser builds, shared with the integration tests.
#[cfg(test)]
#[allow(dead_code)] // the page checks serve the integration tests
#[path = "../../../tests/html_safety.rs"]
mod html_safety;

#[cfg(test)]
mod tests {
    use super::embeds::*;
    use super::markup::*;
    use super::sanitizer::*;
    use super::*;
    use EmbedProvider::*;
    use regex::Regex;
    use std::collections::HashSet;
    use std::sync::LazyLock;

    static SAN: LazyLock<Sanitizer> = LazyLock::new(|| Sanitizer::new(&EmbedProvider::ALL));
    const YT: &str = "dQw4w9WgXcQ";
    const FUZZ_ROUNDS: usize = 20_000;

    /// The host-built shape, written out independently of `Embed::to_html`.
    static HOST_EMBED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r#"<div class="embed embed-(?:youtube|dailymotion|vimeo|learningapps|padlet|quizlet)">"#,
            r#"<iframe src="https://(?:www\.youtube-nocookie\.com/embed/[A-Za-z0-9_-]{11}"#,
            r#"|www\.dailymotion\.com/embed/video/[A-Za-z0-9]{5,12}|player\.vimeo\.com/video/[0-9]+"#,
            r#"|learningapps\.org/watch\?(?:v=[a-z0-9]{6,20}|app=[0-9]+)"#,
            r#"|padlet\.com/(?:embed/[a-z0-9]{6,40}|[A-Za-z0-9_-]{1,60}/[A-Za-z0-9_-]{1,60})"#,
            r#"|quizlet\.com/[0-9]+/flashcards/embed)" title="[^"<>]+" "#,
            r#"sandbox="allow-scripts allow-same-origin allow-presentation allow-popups" "#,
            r#"referrerpolicy="strict-origin-when-cross-origin" loading="lazy" allowfullscreen></iframe></div>"#
        ))
        .unwrap()
    });

    fn embed(provider: EmbedProvider, src: &str) -> String {
        format!(
            "<div class=\"embed embed-{}\"><iframe src=\"{src}\" title=\"{}\" sandbox=\"allow-scripts allow-same-origin \
             allow-presentation allow-popups\" referrerpolicy=\"strict-origin-when-cross-origin\" loading=\"lazy\" \
             allowfullscreen></iframe></div>",
            provider.id(),
            provider.title()
        )
    }

    static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").unwrap());
    static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""[^"]*""#).unwrap());
    static ON_ATTR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\son[a-z]+\s*=").unwrap());
    static URL_ATTR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(?i)\s(?:href|src)\s*=\s*"([^"]*)""#).unwrap());

    /// The safety properties every output must have, whatever the input. Output
    /// text never holds a raw `<` and attribute values never a raw `>`, so
    /// `<[^>]*>` finds exactly the tags; checks look only inside tags, so that
    /// inert text such as `x onclick=y` is not mistaken for an attribute.
    fn assert_safe(input: &str, out: &str) {
        let ctx = format!("input: {input}\noutput: {out}");
        // The same properties on the tree html5ever (a browser's algorithm) builds.
        let problems = html_safety::fragment_problems(out);
        assert!(problems.is_empty(), "{problems:?}\n{ctx}");
        assert!(!out.to_ascii_lowercase().contains("<script"), "{ctx}");
        let without_embeds = HOST_EMBED.replace_all(out, "");
        let lower = without_embeds.to_ascii_lowercase();
        assert!(!lower.contains("<iframe"), "foreign iframe\n{ctx}");
        for t in TAG.find_iter(&without_embeds).map(|m| m.as_str()) {
            let name = t
                .trim_start_matches(['<', '/'])
                .split([' ', '>'])
                .next()
                .unwrap();
            assert!(TAGS.contains(&name), "tag {name} not allowed\n{ctx}");
            // Handlers are looked for in attribute names, not in (quoted) values.
            let names = QUOTED.replace_all(t, "\"\"");
            assert!(!ON_ATTR.is_match(&names), "handler in {t}\n{ctx}");
            for c in URL_ATTR.captures_iter(t) {
                let url: String = decode_entities(&c[1])
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    assert!(!url.starts_with(scheme), "{scheme} URL in {t}\n{ctx}");
                }
            }
        }
    }

    /// Cleans, checks safety and idempotence, returns the output.
    fn check_with(san: &Sanitizer, input: &str) -> String {
        let out = san.clean(input);
        assert_safe(input, &out);
        assert_eq!(san.clean(&out), out, "not idempotent for input: {input}");
        out
    }

    fn check(input: &str) -> String {
        check_with(&SAN, input)
    }

    #[test]
    fn safety_check_catches_unsafe_output() {
        let foreign = embed(YouTube, "https://evil.org/");
        for bad in [
            "<script>x</script>",
            "<img src=\"x\" onerror=\"y\">",
            "<p ONCLICK =\"y\">t</p>",
            "<a href=\"javascript:x\">t</a>",
            "<a href=\"java&#x09;script:x\">t</a>",
            "<img src=\" DATA:text/html,x\">",
            "<iframe src=\"https://evil.org/\"></iframe>",
            &foreign,
            "<svg></svg>",
        ] {
            let caught = std::panic::catch_unwind(|| assert_safe("", bad)).is_err();
            assert!(caught, "not caught: {bad}");
        }
    }

    #[test]
    fn tree_check_catches_unsafe_output() {
        let foreign = embed(YouTube, "https://evil.org/");
        let unwrapped = format!(
            "<iframe src=\"https://player.vimeo.com/video/1\" title=\"t\" sandbox=\"{}\" \
             referrerpolicy=\"x\" loading=\"lazy\" allowfullscreen></iframe>",
            "allow-scripts allow-same-origin allow-presentation allow-popups"
        );
        for bad in [
            "<script>x</script>",
            "<img src=x onerror=y>",
            "<p/ONCLICK=y>t</p>",
            "<a href=\"java&#x09;script:x\">t</a>",
            "<a href=\"&#1;javascript:x\">t</a>",
            "<a href=\" data:text/html,x\">t</a>",
            "<iframe src=\"https://evil.org/\"></iframe>",
            &foreign,
            &unwrapped,
            "<svg></svg>",
            "<math><mi>x</mi></math>",
            "<form><button formaction=javascript:x>b</button></form>",
            "<meta http-equiv=refresh content=\"0;url=https://evil.org/\">",
            "<p style=\"x:expression(alert(1))\">t</p>",
            "<template><b>t</b></template>",
            "<object data=x></object>",
        ] {
            assert!(!html_safety::fragment_problems(bad).is_empty(), "{bad}");
        }
        // Host-built embeds and ordinary markup pass, data: images too.
        for good in [
            embed(Vimeo, "https://player.vimeo.com/video/76979871"),
            "<p><a href=\"https://example.org/?q=javascript:x\">l</a><img src=\"data:image/png;base64,AA\"></p>".into(),
        ] {
            assert_eq!(html_safety::fragment_problems(&good), Vec::<String>::new());
        }
    }

    #[test]
    fn sanitizer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Sanitizer>();
    }

    #[test]
    fn provider_ids_round_trip() {
        for p in EmbedProvider::ALL {
            assert_eq!(EmbedProvider::from_id(p.id()), Some(p));
        }
        assert_eq!(YouTube.label(), "YouTube");
        assert_eq!(LearningApps.id(), "learningapps");
        assert_eq!(EmbedProvider::from_id("YouTube"), None);
        assert_eq!(EmbedProvider::from_id("iframe"), None);
    }

    #[test]
    fn recognises_every_allowlisted_form() {
        let nocookie = format!("https://www.youtube-nocookie.com/embed/{YT}");
        #[rustfmt::skip]
        let cases: &[(&str, EmbedProvider, &str)] = &[
            ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", YouTube, &nocookie),
            ("http://youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42", YouTube, &nocookie),
            ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", YouTube, &nocookie),
            ("https://youtu.be/dQw4w9WgXcQ", YouTube, &nocookie),
            ("https://youtu.be/dQw4w9WgXcQ?si=abc#t=3", YouTube, &nocookie),
            ("https://www.youtube.com/embed/dQw4w9WgXcQ", YouTube, &nocookie),
            ("//www.youtube.com/embed/dQw4w9WgXcQ", YouTube, &nocookie),
            ("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", YouTube, &nocookie),
            ("https://youtube.com/shorts/dQw4w9WgXcQ/", YouTube, &nocookie),
            ("HTTPS://WWW.YOUTUBE.COM/embed/dQw4w9WgXcQ", YouTube, &nocookie),
            ("  https://youtu.be/dQw4w9WgXcQ\n", YouTube, &nocookie),
            ("https://www.dailymotion.com/video/x8abc12", Dailymotion, "https://www.dailymotion.com/embed/video/x8abc12"),
            ("https://dai.ly/x8abc12", Dailymotion, "https://www.dailymotion.com/embed/video/x8abc12"),
            ("https://dailymotion.com/embed/video/x8abc12", Dailymotion, "https://www.dailymotion.com/embed/video/x8abc12"),
            ("https://vimeo.com/76979871", Vimeo, "https://player.vimeo.com/video/76979871"),
            ("https://player.vimeo.com/video/76979871?h=ab12", Vimeo, "https://player.vimeo.com/video/76979871"),
            ("https://learningapps.org/watch?v=pabc123def", LearningApps, "https://learningapps.org/watch?v=pabc123def"),
            ("https://learningapps.org/1234567", LearningApps, "https://learningapps.org/watch?app=1234567"),
            ("https://learningapps.org/view1234567", LearningApps, "https://learningapps.org/watch?app=1234567"),
            ("https://learningapps.org/watch?app=1234567", LearningApps, "https://learningapps.org/watch?app=1234567"),
            ("https://padlet.com/embed/abcdef123", Padlet, "https://padlet.com/embed/abcdef123"),
            ("https://padlet.com/mme_durand/Sciences-CM2", Padlet, "https://padlet.com/mme_durand/Sciences-CM2"),
            ("https://quizlet.com/123456789/les-volcans-flash-cards/", Quizlet, "https://quizlet.com/123456789/flashcards/embed"),
            ("https://quizlet.com/fr/123456789/les-volcans/", Quizlet, "https://quizlet.com/123456789/flashcards/embed"),
            ("https://quizlet.com/123456789/learn/embed", Quizlet, "https://quizlet.com/123456789/flashcards/embed"),
            ("https://quizlet.com/123456789/flashcards/embed", Quizlet, "https://quizlet.com/123456789/flashcards/embed"),
        ];
        for (url, provider, src) in cases {
            let e = SAN
                .recognise(url)
                .unwrap_or_else(|| panic!("not recognised: {url}"));
            assert_eq!((e.provider, e.src()), (*provider, src.to_string()), "{url}");
            // The canonical form is recognised again as itself (idempotence).
            assert_eq!(SAN.recognise(&e.src()), Some(e.clone()), "{url}");
            assert_eq!(SAN.embed_html(url), Some(e.to_html()));
        }
    }

    #[test]
    fn rejects_lookalikes_and_malformed_ids() {
        for url in [
            "https://youtube.com.evil.org/watch?v=dQw4w9WgXcQ",
            "https://evilyoutube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com@evil.org/watch?v=dQw4w9WgXcQ",
            "https://evil.org@youtube.com/watch?v=dQw4w9WgXcQ",
            "https://www.youtube.com:8443/embed/dQw4w9WgXcQ",
            "https://www.youtube.com:443/embed/dQw4w9WgXcQ",
            "https://www.youtube.com./embed/dQw4w9WgXcQ",
            "https://www.youtube.com\\@evil.org/embed/dQw4w9WgXcQ",
            "https://www.www.youtube.com/embed/dQw4w9WgXcQ",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
            "ftp://www.youtube.com/embed/dQw4w9WgXcQ",
            "javascript://www.youtube.com/embed/dQw4w9WgXcQ",
            "www.youtube.com/embed/dQw4w9WgXcQ",
            "https://www.youtube.com/embed/dQw4w9WgXc",
            "https://www.youtube.com/embed/dQw4w9WgXcQQ",
            "https://www.youtube.com/embed/dQw4w9WgXc%22",
            "https://www.youtube.com/embed/dQw4w9WgXcQ/extra",
            "https://www.youtube.com/watch?v=dQw4w9WgXc\"onload=x",
            "https://www.youtube.com/watch?vv=dQw4w9WgXcQ",
            "https://www.youtube.com/dQw4w9WgXcQ",
            "https://youtu.be/embed/dQw4w9WgXcQ",
            "https://www.youtube-nocookie.com/watch?v=dQw4w9WgXcQ",
            "https://www.dailymotion.com/video/x8a",
            "https://www.dailymotion.com/video/x8abc12_slug",
            "https://dai.ly/video/x8abc12",
            "https://vimeo.com/7697987a",
            "https://vimeo.com/channels/staffpicks",
            "https://player.vimeo.com/76979871",
            "https://learningapps.org/watch?v=ABC123",
            "https://learningapps.org/watch?v=abc",
            "https://learningapps.org/about",
            "https://padlet.com/embed/ABC",
            "https://padlet.com/embed/abc123def/more",
            "https://padlet.com/user",
            "https://padlet.com/us.er/board",
            "https://quizlet.com/fr/latest",
            "https://quizlet.com/12345/a%2fb",
            "https://evil.org/https://www.youtube.com/embed/dQw4w9WgXcQ",
            "https://evil.org/?u=https://youtu.be/dQw4w9WgXcQ",
            "https://www.google.com/maps/embed?pb=1",
            "data:text/html,https://youtu.be/dQw4w9WgXcQ",
            "",
            "//",
        ] {
            assert_eq!(SAN.recognise(url), None, "{url}");
        }
    }

    #[test]
    fn allowlisted_iframes_become_host_built_embeds() {
        #[rustfmt::skip]
        let cases: &[(&str, EmbedProvider, &str)] = &[
            (r#"<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" frameborder="0" allow="autoplay" allowfullscreen></iframe>"#, YouTube, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
            (r#"<IFRAME SRC='https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ'></IFRAME>"#, YouTube, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
            (r#"<iframe src=//www.dailymotion.com/embed/video/x8abc12 />"#, Dailymotion, "https://www.dailymotion.com/embed/video/x8abc12"),
            (r#"<iframe src="https://player.vimeo.com/video/76979871?h=1&amp;badge=0" allow="fullscreen">"#, Vimeo, "https://player.vimeo.com/video/76979871"),
            (r#"<iframe src="https://learningapps.org/watch?app=1234567" style="border:0px;width:100%"></iframe>"#, LearningApps, "https://learningapps.org/watch?app=1234567"),
            (r#"<iframe src="https://padlet.com/embed/abcdef123" frameborder="0" allow="camera;microphone"></iframe>"#, Padlet, "https://padlet.com/embed/abcdef123"),
            (r#"<iframe src="https://quizlet.com/123456789/learn/embed?i=x&x=1jj1" height="500"></iframe>"#, Quizlet, "https://quizlet.com/123456789/flashcards/embed"),
            (r#"<iframe title="x>y" src="https://youtu.be/dQw4w9WgXcQ">Votre navigateur ne gère pas les iframes.</iframe>"#, YouTube, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
            (r#"<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" srcdoc="<script>alert(1)</script>" onload="alert(1)"></iframe>"#, YouTube, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ];
        for (input, provider, src) in cases {
            assert_eq!(check(input), embed(*provider, src), "{input}");
        }
        // An iframe inside a sentence splits the paragraph rather than nesting a div in a p.
        assert_eq!(
            check(r#"<p>Avant <iframe src="https://vimeo.com/76979871"></iframe> après</p>"#),
            format!(
                "<p>Avant </p>{}<p> après</p>",
                embed(Vimeo, "https://player.vimeo.com/video/76979871")
            )
        );
        // Unclosed/self-closed iframes do not swallow what follows.
        assert_eq!(
            check(
                r#"<iframe src="https://youtu.be/dQw4w9WgXcQ"/><p>suite</p><iframe src="https://evil.org/"></iframe>"#
            ),
            format!(
                "{}<p>suite</p>",
                embed(
                    YouTube,
                    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
                )
            )
        );
    }

    #[test]
    fn other_iframes_disappear() {
        for input in [
            r#"<iframe src="https://evil.org/"></iframe>"#,
            r#"<iframe src="https://youtube.com.evil.org/embed/dQw4w9WgXcQ"></iframe>"#,
            r#"<iframe src="https://evilyoutube.com/embed/dQw4w9WgXcQ"></iframe>"#,
            r#"<iframe src="https://www.youtube.com@evil.org/embed/dQw4w9WgXcQ"></iframe>"#,
            r#"<iframe src="javascript:alert(1)"></iframe>"#,
            r#"<iframe srcdoc="<script>alert(1)</script>"></iframe>"#,
            r#"<iframe data-src="https://youtu.be/dQw4w9WgXcQ" src="https://evil.org/"></iframe>"#,
            r#"<iframe title="src=https://youtu.be/dQw4w9WgXcQ" src="https://evil.org/"></iframe>"#,
            r#"<iframe src="https://evil.org/" src="https://youtu.be/dQw4w9WgXcQ"></iframe>"#,
            r#"<div class="embed embed-youtube"><iframe src="https://evil.org/"></iframe></div>"#,
            "<iframe>",
        ] {
            assert_eq!(check(input), "", "{input}");
        }
        assert_eq!(
            check("<p>a</p><iframe src=https://evil.org/>fallback</iframe><p>b</p>"),
            "<p>a</p><p>b</p>"
        );
        // As in browsers, `<p` is an attribute of the unterminated iframe tag.
        assert_eq!(
            check("<iframe src=https://evil.org/ <p>never closed"),
            "never closed"
        );
    }

    #[test]
    fn links_and_bare_urls_become_embeds() {
        let yt = embed(
            YouTube,
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        );
        #[rustfmt::skip]
        let links: &[(&str, EmbedProvider, &str)] = &[
            ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&amp;t=1", YouTube, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
            ("https://www.dailymotion.com/video/x8abc12", Dailymotion, "https://www.dailymotion.com/embed/video/x8abc12"),
            ("https://vimeo.com/76979871", Vimeo, "https://player.vimeo.com/video/76979871"),
            ("https://learningapps.org/watch?v=pabc123def", LearningApps, "https://learningapps.org/watch?v=pabc123def"),
            ("https://padlet.com/mme_durand/sciences", Padlet, "https://padlet.com/mme_durand/sciences"),
            ("https://quizlet.com/123456789/volcans/", Quizlet, "https://quizlet.com/123456789/flashcards/embed"),
        ];
        for (url, provider, src) in links {
            let expected = embed(*provider, src);
            assert_eq!(
                check(&format!(r#"<p><a href="{url}">lien</a></p>"#)),
                expected,
                "{url}"
            );
            assert_eq!(
                check(&format!(r#"<a href="{url}" onclick="x()">lien</a>"#)),
                expected,
                "{url}"
            );
            assert_eq!(check(&format!("<p>{url}</p>")), expected, "{url}");
            assert_eq!(
                check(&format!("<p>\n  {url}&nbsp;\n</p>")),
                expected,
                "{url}"
            );
        }
        // Inside a sentence, through inline elements: the paragraph is split around the embed.
        assert_eq!(
            check(
                r#"<p>Regardez <strong><a href="https://youtu.be/dQw4w9WgXcQ">cette vidéo</a> avant</strong> lundi.</p>"#
            ),
            format!("<p>Regardez </p>{yt}<p><strong> avant</strong> lundi.</p>")
        );
        assert_eq!(
            check(
                r#"<p><em><a href="https://youtu.be/dQw4w9WgXcQ">v</a></em> puis <a href="https://vimeo.com/76979871">w</a></p>"#
            ),
            format!(
                "{yt}<p> puis </p>{}",
                embed(Vimeo, "https://player.vimeo.com/video/76979871")
            )
        );
        // Outside paragraphs the embed stays in place.
        assert_eq!(
            check(r#"<ul><li>Devoir : <a href="https://youtu.be/dQw4w9WgXcQ">vidéo</a></li></ul>"#),
            format!("<ul><li>Devoir : {yt}</li></ul>")
        );
        // A URL alone on its line, outside any paragraph or after a <br> (issue 17).
        assert_eq!(
            check("Regardez :\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ\nBonne séance"),
            format!("Regardez :\n{yt}\nBonne séance")
        );
        assert_eq!(check("https://youtu.be/dQw4w9WgXcQ"), yt);
        assert_eq!(
            check("<p>Regardez :<br>https://youtu.be/dQw4w9WgXcQ</p>"),
            format!("<p>Regardez :<br></p>{yt}")
        );
        assert_eq!(
            check("<div>https://youtu.be/dQw4w9WgXcQ</div>"),
            format!("<div>{yt}</div>")
        );
        // Not alone on its line, or in code: text.
        assert_eq!(
            check("Voir https://youtu.be/dQw4w9WgXcQ\ndemain"),
            "Voir https://youtu.be/dQw4w9WgXcQ\ndemain"
        );
        assert_eq!(
            check("<pre>https://youtu.be/dQw4w9WgXcQ</pre>"),
            "<pre>https://youtu.be/dQw4w9WgXcQ</pre>"
        );
        // A URL among other text, or linked text that is not a provider, stays as it is.
        assert_eq!(
            check("<p>Voir https://youtu.be/dQw4w9WgXcQ demain</p>"),
            "<p>Voir https://youtu.be/dQw4w9WgXcQ demain</p>"
        );
        assert_eq!(
            check(r#"<p><a href="https://example.org/">https://youtu.be/dQw4w9WgXcQ</a></p>"#),
            r#"<p><a href="https://example.org/" rel="noopener noreferrer nofollow">https://youtu.be/dQw4w9WgXcQ</a></p>"#
        );
        // Markup inside attribute values is inert and is never turned into an embed.
        assert_eq!(
            check(r#"<p><span title="<p>https://youtu.be/dQw4w9WgXcQ</p>">t</span></p>"#),
            r#"<p><span title="&lt;p&gt;https://youtu.be/dQw4w9WgXcQ&lt;/p&gt;">t</span></p>"#
        );
    }

    #[test]
    fn disabled_providers_are_not_embedded() {
        let san = Sanitizer::new(&[Vimeo]);
        assert_eq!(san.recognise("https://youtu.be/dQw4w9WgXcQ"), None);
        assert_eq!(san.embed_html("https://youtu.be/dQw4w9WgXcQ"), None);
        assert_eq!(
            check_with(
                &san,
                r#"<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>"#
            ),
            ""
        );
        assert_eq!(
            check_with(
                &san,
                r#"<p><a href="https://youtu.be/dQw4w9WgXcQ">vidéo</a></p>"#
            ),
            r#"<p><a href="https://youtu.be/dQw4w9WgXcQ" rel="noopener noreferrer nofollow">vidéo</a></p>"#
        );
        assert_eq!(
            check_with(&san, "<p>https://youtu.be/dQw4w9WgXcQ</p>"),
            "<p>https://youtu.be/dQw4w9WgXcQ</p>"
        );
        assert_eq!(
            check_with(&san, "<p>https://vimeo.com/76979871</p>"),
            embed(Vimeo, "https://player.vimeo.com/video/76979871")
        );
        // Output made with YouTube enabled loses its embed once YouTube is disabled.
        let before = check(r#"<iframe src="https://youtu.be/dQw4w9WgXcQ"></iframe>"#);
        assert_eq!(check_with(&san, &before), "");
        let none = Sanitizer::new(&[]);
        assert_eq!(
            check_with(&none, "<p>https://vimeo.com/76979871</p>"),
            "<p>https://vimeo.com/76979871</p>"
        );
    }

    #[test]
    fn scripts_and_event_handlers_are_removed() {
        let cases = [
            ("<script>alert(1)</script>", ""),
            ("<p>a<SCRIPT>alert(1)</SCRIPT>b</p>", "<p>ab</p>"),
            ("<img src=x onerror=alert(1)>", r#"<img src="x">"#),
            (
                "<img src=x ONERROR  =  alert(1) onload=alert(2)>",
                r#"<img src="x">"#,
            ),
            ("<p\nonclick\n=\n\"alert(1)\">t</p>", "<p>t</p>"),
            ("<p/ONCLICK=alert(1)>t</p>", "<p>t</p>"),
            ("<body onload=alert(1)><p>t</p>", "<p>t</p>"),
            (
                r#"<a href="https://example.org/" onmouseover="alert(1)">x</a>"#,
                r#"<a href="https://example.org/" rel="noopener noreferrer nofollow">x</a>"#,
            ),
            (
                "<p style=\"background:url(javascript:alert(1))\" class=x id=y>t</p>",
                "<p>t</p>",
            ),
            ("<style>p{color:red}</style><p>t</p>", "<p>t</p>"),
            ("<object data=x></object><embed src=x><p>t</p>", "<p>t</p>"),
        ];
        for (input, expected) in cases {
            assert_eq!(check(input), expected, "{input}");
        }
    }

    #[test]
    fn dangerous_urls_are_removed() {
        for href in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "jav&#x61;script:alert(1)",
            "&#106;avascript:alert(1)",
            "java\nscript:alert(1)",
            "java&#x0A;script:alert(1)",
            "java\tscript:alert(1)",
            "ja&#x1a;vascript:alert(1)",
            "vbscript&#8;&#8;:msgbox(1)",
            "&#127;javascript:alert(1)",
            "  javascript:alert(1)",
            "javascript&colon;alert(1)",
            "vbscript:msgbox(1)",
            "VBScript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        ] {
            let a = check(&format!(r#"<a href="{href}">x</a>"#));
            assert_eq!(
                a, r#"<a rel="noopener noreferrer nofollow">x</a>"#,
                "{href}"
            );
            assert_eq!(
                check(&format!(r#"<img src="{href}" alt="i">"#)),
                r#"<img alt="i">"#,
                "{href}"
            );
        }
        // The allowed schemes and relative URLs are kept.
        assert_eq!(
            check(r#"<a href="mailto:direction@ecole.fr">m</a><img src="/media/a.png">"#),
            r#"<a href="mailto:direction@ecole.fr" rel="noopener noreferrer nofollow">m</a><img src="/media/a.png">"#
        );
    }

    #[test]
    fn svg_math_and_mutation_xss_classics_are_inert() {
        let cases = [
            (
                "<svg onload=alert(1)><circle r=1></circle></svg><p>t</p>",
                "<p>t</p>",
            ),
            ("<svg><script>alert(1)</script></svg>", ""),
            ("<math><mi xlink:href=javascript:alert(1)>x</mi></math>", ""),
            // The three classics from ammonia's and DOMPurify's advisories.
            (
                r#"<noscript><p title="</noscript><img src=x onerror=alert(1)>">"#,
                "<img src=\"x\">\"&gt;",
            ),
            // `<img>` breaks out of foreign content: it is an HTML image, minus its handler.
            (
                "<svg><style><img src=x onerror=alert(1)>",
                r#"<img src="x">"#,
            ),
            (
                "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
                "",
            ),
            ("<xmp><img src=x onerror=alert(1)></xmp>", ""),
            (
                r#"<template><img src=x onerror=alert(1)></template><p>t</p>"#,
                "<p>t</p>",
            ),
            (
                r#"<p title="</p><script>alert(1)</script>">t</p>"#,
                r#"<p title="&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;">t</p>"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(check(input), expected, "{input}");
        }
    }

    #[test]
    fn comments_cdata_and_malformed_markup() {
        let cases = [
            (
                "<p>a<!-- <img src=x onerror=alert(1)> -->b</p>",
                "<p>ab</p>",
            ),
            (
                "<!--><img src=x onerror=alert(1)>-->",
                r#"<img src="x">--&gt;"#,
            ),
            ("<![CDATA[<script>alert(1)</script>]]>", "alert(1)]]&gt;"),
            (
                "<p><b><i>mal</b> imbriqué</i></p>",
                "<p><b><i>mal</i></b><i> imbriqué</i></p>",
            ),
            // Nested links do not survive a reparse: cleaned until stable.
            (
                r#"<a href="https://example.org/"><table><a href="https://example.net/">n</a></table></a>"#,
                r#"<a href="https://example.org/" rel="noopener noreferrer nofollow"></a><a href="https://example.net/" rel="noopener noreferrer nofollow">n</a><table></table>"#,
            ),
            ("<<img src=x onerror=alert(1)>>", r#"&lt;<img src="x">&gt;"#),
            (
                "<p>non fermé <strong>gras",
                "<p>non fermé <strong>gras</strong></p>",
            ),
            ("</p></div><p>", "<p></p><p></p>"),
            (
                r#"<a href="https://example.org/"<img src=x onerror=alert(1)>>x</a>"#,
                r#"<a href="https://example.org/" rel="noopener noreferrer nofollow">&gt;x</a>"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(check(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_rich_text_is_kept() {
        let doc = concat!(
            "<h2>Sortie scolaire</h2><p>Bonjour, <strong>rendez-vous</strong> à <em>8 h</em> &amp; ",
            r#"<a href="https://ecole.example/plan" rel="noopener noreferrer nofollow">plan</a>.</p>"#,
            "<ul><li>pique-nique</li><li>gourde</li></ul><blockquote><p>Citation</p></blockquote>",
            r#"<table><thead><tr><th scope="col">Heure</th></tr></thead><tbody><tr><td colspan="2">8 h</td></tr></tbody></table>"#,
            r#"<figure><img src="/media/bus.jpg" alt="Le bus" width="300"><figcaption>Le bus</figcaption></figure><hr><pre><code>a &lt; b</code></pre>"#
        );
        assert_eq!(check(doc), doc);
    }

    #[test]
    fn plain_text_for_excerpts() {
        assert_eq!(
            SAN.plain_text("<h2>Titre</h2><p>Un&nbsp;<b>très</b> beau\n\n jour &amp; &lt;demain&gt;</p><script>alert(1)</script><p>Fin</p>"),
            "Titre Un très beau jour & <demain> Fin"
        );
        assert_eq!(
            SAN.plain_text(r#"<iframe src="https://youtu.be/dQw4w9WgXcQ"></iframe>a<br>b"#),
            "a b"
        );
        assert_eq!(SAN.plain_text("<style>p{}</style>  "), "");
    }

    #[test]
    fn hostile_vectors_from_fixture() {
        let vectors = html_safety::xss_vectors();
        assert!(vectors.len() >= 300, "only {} vectors", vectors.len());
        let distinct: HashSet<&String> = vectors.iter().collect();
        assert_eq!(distinct.len(), vectors.len(), "duplicate vectors");
        for v in &vectors {
            check(v);
            // Also inside a paragraph next to a legitimate embed.
            check(&format!(
                "<p>x {v} <a href=\"https://youtu.be/{YT}\">y</a></p>"
            ));
        }
    }

    #[test]
    fn random_tag_soup_is_safe_and_stable() {
        // Deterministic pseudo-random mixes of pieces of markup, embeds included.
        #[rustfmt::skip]
        const PIECES: &[&str] = &[
            "<p>", "</p>", "<strong>", "</strong>", "<em>", "</em>",
            "<a href=\"https://youtu.be/dQw4w9WgXcQ\">", "<a href=\"https://example.org/\">", "</a>",
            "<table>", "<tr>", "<td>", "</td>", "</table>", "<ul><li>", "</li>", "</ul>", "<div>", "</div>",
            "<h2>", "</h2>", "<br>", "<img src=x onerror=alert(1)>",
            "<iframe src=\"https://player.vimeo.com/video/76979871\">", "</iframe>",
            "<iframe src=https://evil.org/>", "https://vimeo.com/76979871", "<svg>", "<math>", "<mtext>",
            "<style>", "</style>", "<noscript>", "</noscript>", "<select>", "<textarea>", "<template>",
            "<!--", "-->", "<![CDATA[", "]]>", "\"", "'", ">", "<", "&amp;", "&lt;iframe", " title=\"",
            "<span title=\"<iframe src=//youtu.be/dQw4w9WgXcQ>\">", "texte ", "\n", "<pre>", "</pre>",
            "<blockquote>", "<form>", "<button>", "<object>", "<a href=javascript:alert(1)>",
            "<div class=\"embed embed-youtube\">", "<p><a href=\"https://vimeo.com/76979871\">v</a>", "<li>",
            "<ol>", "</ol>", "<h3>", "<caption>", "<dl><dt>", "<b>", "</b>", "<code>", "<p>\n", "&nbsp;",
            "<hr>", "</a></p>", "<img src=\"https://youtu.be/dQw4w9WgXcQ\">", "<body>", "<html>", "<head>",
            "<frameset>", "<tbody>", "<p>https://dai.ly/x8abc12</p>", "<xmp>", "<plaintext>",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..FUZZ_ROUNDS {
            let len = 1 + next(24);
            let input: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
            check(&input);
        }
    }
}
