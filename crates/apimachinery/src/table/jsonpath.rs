//! The JSONPath dialect of kubectl and CRD printer columns
//! (`.status.conditions[?(@.type=="Ready")].status`), with missing keys
//! allowed: a path that leads nowhere finds nothing rather than failing.
//!
//! Supported: `$`, `.field` (with `\.` escapes), `['field']`, `..field`,
//! `.*` and `[*]`, indexes and slices (`[0]`, `[-1]`, `[1:3]`, `[::2]`),
//! unions (`[0,2]`, `['a','b']`) and filters (`[?(@.x == "y")]`,
//! `[?(@.x)]`, with `== != < > <= >=` over strings, integers, floats and
//! booleans).

use std::cmp::Ordering;

use serde_json::Value;

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Recursive,
    Wildcard,
    Index(Vec<Slice>),
    Fields(Vec<String>),
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    /// `[i]` rather than `[i:j]`.
    single: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Operand,
    op: Option<(Op, Operand)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `@.a.b`, relative to the element; `$...` paths are absolute.
    Path {
        absolute: bool,
        path: JsonPath,
    },
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// The path could not be evaluated (a filter over a non-list, or a
/// comparison across types); Kubernetes then leaves the cell empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError;

/// Characters that end a field name.
fn is_terminator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}' | '(' | ')' | '=' | '!' | '<' | '>'
        )
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    src: &'a str,
}

impl JsonPath {
    /// Parses a path; `{...}` braces around it are accepted. The error is
    /// the path as given.
    pub(crate) fn parse(src: &str) -> Result<JsonPath, String> {
        let trimmed = src.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(trimmed);
        let mut p = Parser {
            chars: inner.chars().collect(),
            pos: 0,
            src,
        };
        let path = p.path(false)?;
        p.skip_ws();
        if p.pos != p.chars.len() {
            return Err(src.to_string());
        }
        Ok(path)
    }

    /// Every value the path finds in `root`, in document order.
    pub(crate) fn find<'v>(&self, root: &'v Value) -> Result<Vec<&'v Value>, EvalError> {
        self.find_from(root, root)
    }

    fn find_from<'v>(
        &self,
        start: &'v Value,
        root: &'v Value,
    ) -> Result<Vec<&'v Value>, EvalError> {
        let mut current = vec![start];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                step.apply(v, root, &mut next)?;
            }
            current = next;
        }
        Ok(current)
    }
}

impl Parser<'_> {
    fn err<T>(&self) -> Result<T, String> {
        Err(self.src.to_string())
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Steps until something that cannot continue a path. In a filter
    /// (`nested`) the path ends at an operator or `)`.
    fn path(&mut self, nested: bool) -> Result<JsonPath, String> {
        let mut steps = Vec::new();
        if self.peek() == Some('$') && !nested {
            self.pos += 1;
        }
        loop {
            match self.peek() {
                Some('.') if self.peek_at(1) == Some('.') => {
                    self.pos += 2;
                    steps.push(Step::Recursive);
                    if self.peek() == Some('[') {
                        continue;
                    }
                    steps.push(self.field()?);
                }
                Some('.') => {
                    self.pos += 1;
                    // A lone "." is the whole object.
                    if self
                        .peek()
                        .is_none_or(|c| is_terminator(c) && c != '[' && c != '*')
                    {
                        continue;
                    }
                    steps.push(self.field()?);
                }
                Some('[') => steps.push(self.bracket()?),
                _ => break,
            }
        }
        Ok(JsonPath { steps })
    }

    fn field(&mut self) -> Result<Step, String> {
        if self.peek() == Some('*') {
            self.pos += 1;
            return Ok(Step::Wildcard);
        }
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' && self.peek_at(1).is_some() {
                name.push(self.chars[self.pos + 1]);
                self.pos += 2;
                continue;
            }
            if is_terminator(c) {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        if name.is_empty() {
            return self.err();
        }
        Ok(Step::Field(name))
    }

    fn bracket(&mut self) -> Result<Step, String> {
        self.pos += 1; // '['
        self.skip_ws();
        let step = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Step::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                if self.peek() != Some('(') {
                    return self.err();
                }
                self.pos += 1;
                let filter = self.filter()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return self.err();
                }
                self.pos += 1;
                Step::Filter(Box::new(filter))
            }
            Some('\'' | '"') => {
                let mut names = vec![self.quoted()?];
                loop {
                    self.skip_ws();
                    if self.peek() != Some(',') {
                        break;
                    }
                    self.pos += 1;
                    self.skip_ws();
                    names.push(self.quoted()?);
                }
                if names.len() == 1 {
                    Step::Field(names.remove(0))
                } else {
                    Step::Fields(names)
                }
            }
            _ => {
                let mut slices = vec![self.slice()?];
                while self.peek() == Some(',') {
                    self.pos += 1;
                    slices.push(self.slice()?);
                }
                Step::Index(slices)
            }
        };
        self.skip_ws();
        if self.peek() != Some(']') {
            return self.err();
        }
        self.pos += 1;
        Ok(step)
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return self.err();
        };
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return self.err(),
                Some('\\') if self.peek_at(1).is_some() => {
                    s.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Ok(None);
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse().map(Some).or_else(|_| self.err())
    }

    fn slice(&mut self) -> Result<Slice, String> {
        let start = self.int()?;
        self.skip_ws();
        if self.peek() != Some(':') {
            return match start {
                Some(_) => Ok(Slice {
                    start,
                    end: None,
                    step: None,
                    single: true,
                }),
                None => self.err(),
            };
        }
        self.pos += 1;
        let end = self.int()?;
        self.skip_ws();
        let step = if self.peek() == Some(':') {
            self.pos += 1;
            self.int()?
        } else {
            None
        };
        Ok(Slice {
            start,
            end,
            step,
            single: false,
        })
    }

    fn filter(&mut self) -> Result<Filter, String> {
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('='), Some('=')) => Some((Op::Eq, 2)),
            (Some('!'), Some('=')) => Some((Op::Ne, 2)),
            (Some('<'), Some('=')) => Some((Op::Le, 2)),
            (Some('>'), Some('=')) => Some((Op::Ge, 2)),
            (Some('<'), _) => Some((Op::Lt, 1)),
            (Some('>'), _) => Some((Op::Gt, 1)),
            _ => None,
        };
        let Some((op, width)) = op else {
            return Ok(Filter { left, op: None });
        };
        self.pos += width;
        let right = self.operand()?;
        Ok(Filter {
            left,
            op: Some((op, right)),
        })
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Path {
                    absolute: false,
                    path: self.path(true)?,
                })
            }
            Some('$') => {
                self.pos += 1;
                Ok(Operand::Path {
                    absolute: true,
                    path: self.path(true)?,
                })
            }
            Some('\'' | '"') => Ok(Operand::Literal(Value::from(self.quoted()?))),
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.pos;
                self.pos += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                if let Ok(i) = text.parse::<i64>() {
                    Ok(Operand::Literal(Value::from(i)))
                } else {
                    text.parse::<f64>()
                        .map(|f| Operand::Literal(Value::from(f)))
                        .or_else(|_| self.err())
                }
            }
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    _ => self.err(),
                }
            }
        }
    }
}

impl Step {
    fn apply<'v>(
        &self,
        v: &'v Value,
        root: &'v Value,
        out: &mut Vec<&'v Value>,
    ) -> Result<(), EvalError> {
        match self {
            Step::Field(name) => out.extend(v.as_object().and_then(|m| m.get(name))),
            Step::Fields(names) => {
                if let Some(m) = v.as_object() {
                    out.extend(names.iter().filter_map(|n| m.get(n)));
                }
            }
            Step::Wildcard => match v {
                Value::Object(m) => out.extend(m.values()),
                Value::Array(a) => out.extend(a.iter()),
                _ => {}
            },
            Step::Recursive => collect_all(v, out),
            Step::Index(slices) => {
                if let Value::Array(a) = v {
                    for s in slices {
                        s.select(a, out);
                    }
                }
            }
            Step::Filter(filter) => {
                let Value::Array(items) = v else {
                    return Err(EvalError);
                };
                for item in items {
                    if filter.matches(item, root)? {
                        out.push(item);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The value and everything below it, parents first.
fn collect_all<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    out.push(v);
    match v {
        Value::Object(m) => m.values().for_each(|c| collect_all(c, out)),
        Value::Array(a) => a.iter().for_each(|c| collect_all(c, out)),
        _ => {}
    }
}

impl Slice {
    fn select<'v>(&self, items: &'v [Value], out: &mut Vec<&'v Value>) {
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let get = |i: i64| usize::try_from(i).ok().and_then(|i| items.get(i));
        if self.single {
            let mut i = self.start.unwrap_or(0);
            if i < 0 {
                i += len;
            }
            out.extend(get(i));
            return;
        }
        let step = self.step.unwrap_or(1);
        if step <= 0 {
            return;
        }
        let clamp = |i: i64| if i < 0 { (i + len).max(0) } else { i.min(len) };
        let start = clamp(self.start.unwrap_or(0));
        let end = clamp(self.end.unwrap_or(len));
        let mut i = start;
        while i < end {
            out.extend(get(i));
            i += step;
        }
    }
}

impl Filter {
    fn matches(&self, item: &Value, root: &Value) -> Result<bool, EvalError> {
        let lefts = self.left.resolve(item, root)?;
        let Some(left) = lefts.first() else {
            return Ok(false);
        };
        if lefts.len() > 1 {
            return Err(EvalError);
        }
        let Some((op, right)) = &self.op else {
            return Ok(true);
        };
        let rights = right.resolve(item, root)?;
        let Some(right) = rights.first() else {
            return Ok(false);
        };
        let ord = compare(left, right)?;
        Ok(match op {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Gt => ord == Ordering::Greater,
            Op::Le => ord != Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        })
    }
}

impl Operand {
    fn resolve<'v>(
        &'v self,
        item: &'v Value,
        root: &'v Value,
    ) -> Result<Vec<&'v Value>, EvalError> {
        match self {
            Operand::Literal(v) => Ok(vec![v]),
            Operand::Path {
                absolute: false,
                path,
            } => path.find_from(item, root),
            Operand::Path {
                absolute: true,
                path,
            } => path.find_from(root, root),
        }
    }
}

/// Go template comparison: only values of the same basic kind compare.
fn compare(a: &Value, b: &Value) -> Result<Ordering, EvalError> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => Ok(i.cmp(&j)),
            (None, None) => x
                .as_f64()
                .zip(y.as_f64())
                .and_then(|(f, g)| f.partial_cmp(&g))
                .ok_or(EvalError),
            _ => Err(EvalError),
        },
        _ => Err(EvalError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, v: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .expect("parses")
            .find(v)
            .expect("evaluates")
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn table_jsonpath_fields_indexes_filters() {
        let v = json!({
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 3, "containers": [{"name": "a", "image": "i1"}, {"name": "b", "image": "i2"}, {"name": "c", "image": "i3"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]}
        });
        assert_eq!(find(".spec.replicas", &v), vec![json!(3)]);
        assert_eq!(find("{.spec.replicas}", &v), vec![json!(3)]);
        assert_eq!(find("$.metadata.name", &v), vec![json!("x")]);
        assert_eq!(
            find(".metadata.labels.app\\.kubernetes\\.io/name", &v),
            vec![json!("web")]
        );
        assert_eq!(
            find(".metadata.labels['app.kubernetes.io/name']", &v),
            vec![json!("web")]
        );
        assert_eq!(find(".spec.containers[0].image", &v), vec![json!("i1")]);
        assert_eq!(find(".spec.containers[-1].name", &v), vec![json!("c")]);
        assert_eq!(
            find(".spec.containers[*].name", &v),
            vec![json!("a"), json!("b"), json!("c")]
        );
        assert_eq!(
            find(".spec.containers[1:].name", &v),
            vec![json!("b"), json!("c")]
        );
        assert_eq!(
            find(".spec.containers[0,2].name", &v),
            vec![json!("a"), json!("c")]
        );
        assert_eq!(
            find(".status.conditions[?(@.type==\"Ready\")].status", &v),
            vec![json!("True")]
        );
        assert_eq!(
            find(".status.conditions[?(@.type != 'Ready')].type", &v),
            vec![json!("Synced")]
        );
        assert_eq!(
            find("..image", &v),
            vec![json!("i1"), json!("i2"), json!("i3")]
        );
        assert_eq!(find(".spec.containers[?(@.image)].name", &v).len(), 3);
        assert_eq!(find(".spec.missing.deeper", &v), Vec::<Value>::new());
        assert_eq!(find(".spec.containers[9].name", &v), Vec::<Value>::new());
    }

    #[test]
    fn table_jsonpath_numeric_filters_and_errors() {
        let bad = JsonPath::parse(".items[?(@.n > 1)].n").expect("parses");
        assert!(bad.find(&json!({"items": [{"n": 2.5}]})).is_err());
        let ints = json!({"items": [{"n": 1}, {"n": 5}]});
        assert_eq!(find(".items[?(@.n >= 2)].n", &ints), vec![json!(5)]);
        assert!(JsonPath::parse(".spec.containers[").is_err());
        assert!(JsonPath::parse(".a[?(@.x == )]").is_err());
        let not_list = JsonPath::parse(".spec[?(@.x)]").expect("parses");
        assert!(not_list.find(&json!({"spec": {"x": 1}})).is_err());
    }
}
