//! The CSV dialect of Go's `encoding/csv` with its default (strict)
//! settings, which kube-apiserver reads the token file with: records of
//! any width, `"`-quoted fields with `""` escapes that may span lines,
//! CRLF read as LF, empty lines skipped, no comments, no trimming, and a
//! `"` inside an unquoted field is an error.

/// One record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: bare \" in non-quoted field")]
    BareQuote { line: usize },
    #[error("line {line}: extraneous or missing \" in quoted field")]
    Quote { line: usize },
}

pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.replace("\r\n", "\n");
    // Quotes, commas and newlines are ASCII, so every index the scan stops
    // at is a char boundary.
    let bytes = text.as_bytes();
    let mut records = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    while pos < bytes.len() {
        if bytes[pos] == b'\n' {
            pos += 1;
            line += 1;
            continue;
        }
        let start_line = line;
        let mut fields = Vec::new();
        loop {
            if bytes.get(pos) == Some(&b'"') {
                pos += 1;
                let mut field = String::new();
                loop {
                    let Some(close) = text[pos..].find('"').map(|i| pos + i) else {
                        return Err(CsvError::Quote { line: start_line });
                    };
                    let chunk = &text[pos..close];
                    line += chunk.matches('\n').count();
                    field.push_str(chunk);
                    pos = close + 1;
                    if bytes.get(pos) == Some(&b'"') {
                        field.push('"');
                        pos += 1;
                    } else {
                        break;
                    }
                }
                fields.push(field);
                match bytes.get(pos) {
                    None => break,
                    Some(b',') => pos += 1,
                    Some(b'\n') => {
                        pos += 1;
                        line += 1;
                        break;
                    }
                    Some(_) => return Err(CsvError::Quote { line }),
                }
            } else {
                let end = text[pos..]
                    .find([',', '\n'])
                    .map_or(bytes.len(), |i| pos + i);
                let field = &text[pos..end];
                if field.contains('"') {
                    return Err(CsvError::BareQuote { line });
                }
                fields.push(field.to_string());
                match bytes.get(end) {
                    Some(b',') => pos = end + 1,
                    Some(_) => {
                        pos = end + 1;
                        line += 1;
                        break;
                    }
                    None => {
                        pos = end;
                        break;
                    }
                }
            }
        }
        records.push(Record {
            line: start_line,
            fields,
        });
    }
    Ok(records)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        parse(text).unwrap().into_iter().map(|r| r.fields).collect()
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn authn_csv_plain_quoted_and_ragged() {
        assert_eq!(
            fields("a,b,c\r\n\n\"x,1\",\"say \"\"hi\"\"\",\n last,,\n"),
            vec![
                v(&["a", "b", "c"]),
                v(&["x,1", "say \"hi\"", ""]),
                v(&[" last", "", ""])
            ]
        );
        assert_eq!(fields("only"), vec![v(&["only"])]);
        assert_eq!(fields("a,\"\""), vec![v(&["a", ""])]);
        assert_eq!(fields(""), Vec::<Vec<String>>::new());
    }

    #[test]
    fn authn_csv_multiline_field_keeps_line_numbers() {
        let records = parse("a,\"two\nlines\",c\nnext,1,2\n").unwrap();
        assert_eq!(records[0].fields, v(&["a", "two\nlines", "c"]));
        assert_eq!(records[0].line, 1);
        assert_eq!(records[1].line, 3);
    }

    #[test]
    fn authn_csv_errors() {
        assert_eq!(
            parse("ok,1,2\na\"b,c,d\n"),
            Err(CsvError::BareQuote { line: 2 })
        );
        assert_eq!(parse("\"abc\"x,1,2"), Err(CsvError::Quote { line: 1 }));
        assert_eq!(
            parse("a,\"never closed\n"),
            Err(CsvError::Quote { line: 1 })
        );
        // A space before the quote makes it an unquoted field, as in Go.
        assert_eq!(parse("a, \"b\""), Err(CsvError::BareQuote { line: 1 }));
    }
}
