//! What a connection failure may print: the server's URL without its password, and the whole
//! chain of causes (PostgreSQL's driver says only `db error` or `error connecting to server` at
//! the top; the reason, e.g. `Connection refused`, is in its sources).

/// `url` with the password of its user part, if any, replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let rest = &url[scheme_end..];
    // The user part ends at the last `@` before the path.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_string() };
    let Some(colon) = rest[..at].find(':') else { return url.to_string() };
    format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..])
}

/// An error and each of its sources, joined by `: `, a message its source repeats given once.
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_nothing_else_changes() {
        assert_eq!(
            redacted("postgresql://postgres:s3cret@127.0.0.1:5432/test"),
            "postgresql://postgres:***@127.0.0.1:5432/test"
        );
        assert_eq!(redacted("mysql://root:p@ss@host/db"), "mysql://root:***@host/db");
        assert_eq!(redacted("mysql://root@127.0.0.1:3306/test"), "mysql://root@127.0.0.1:3306/test");
        assert_eq!(redacted("postgresql://127.0.0.1:5432/test?user=a"), "postgresql://127.0.0.1:5432/test?user=a");
        assert_eq!(redacted("host=x password=y"), "host=x password=y");
    }

    #[test]
    fn causes_follow_the_source_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        #[derive(Debug, thiserror::Error)]
        #[error("error connecting to server")]
        struct Top(#[source] std::io::Error);
        assert_eq!(causes(&Top(io)), "error connecting to server: Connection refused");
    }
}
