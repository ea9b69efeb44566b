//! `template.yaml` read the way the harness needs it: the functions (logical id, `bootstrap`
//! binary, memory, condition, environment as Globals + the function declare it), the tables and
//! queues to create, and a small resolver of the intrinsics the template uses (`!Ref`, `!GetAtt`,
//! `!Sub`, `!If`, conditions). Nothing here knows a resource by name: a function, table or queue
//! added to the template is picked up as it is.

use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The parsed template.
pub struct Template {
    root: Value,
}

/// One `AWS::Serverless::Function` built by cargo-lambda.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the bin built as this function's `bootstrap`, also the
    /// prefix of its sample events (`events/<binary>.<case>.json`).
    pub binary: String,
    pub memory_mb: u64,
    pub timeout_secs: u64,
    /// `Environment.Variables` of Globals, then of the function (the function's win), unresolved.
    pub env: BTreeMap<String, Value>,
    /// `LoggingConfig` (Globals, then the function's): becomes `AWS_LAMBDA_LOG_FORMAT` /
    /// `AWS_LAMBDA_LOG_LEVEL`, as Lambda sets them.
    pub logging: BTreeMap<String, Value>,
    pub condition: Option<String>,
}

/// What `!Ref` / `!GetAtt` / `${…}` resolve to: parameter values and the physical names, URLs and
/// ARNs of the resources the harness created.
#[derive(Default, Debug, Clone)]
pub struct Bindings {
    pub params: HashMap<String, String>,
    /// logical id → what `!Ref` returns (table name, queue URL, …).
    pub refs: HashMap<String, String>,
    /// `"Logical.Attr"` → what `!GetAtt` returns.
    pub attrs: HashMap<String, String>,
}

fn tag_name(t: &serde_yaml::value::TaggedValue) -> String {
    t.tag.to_string().trim_start_matches('!').to_string()
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let root: Value =
            serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Template { root })
    }

    fn section(&self, name: &str) -> impl Iterator<Item = (String, &Value)> {
        self.root
            .get(name)
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
    }

    /// Parameter defaults (`Default:`), as strings.
    pub fn parameter_defaults(&self) -> HashMap<String, String> {
        self.section("Parameters")
            .filter_map(|(k, v)| Some((k, scalar(v.get("Default")?)?)))
            .collect()
    }

    /// Names of the parameters without a default (the ones a deployment must give).
    pub fn required_parameters(&self) -> Vec<String> {
        self.section("Parameters")
            .filter(|(_, v)| v.get("Default").is_none())
            .map(|(k, _)| k)
            .collect()
    }

    pub fn resources_of_type(&self, ty: &str) -> Vec<(String, Value)> {
        self.section("Resources")
            .filter(|(_, v)| v.get("Type").and_then(Value::as_str) == Some(ty))
            .map(|(k, v)| (k, v.clone()))
            .collect()
    }

    /// Every cargo-lambda function, in template order.
    pub fn functions(&self) -> Vec<Function> {
        let globals = self.root.get("Globals").and_then(|g| g.get("Function"));
        let vars = |f: Option<&Value>| -> BTreeMap<String, Value> {
            f.and_then(|f| f.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                .collect()
        };
        let logging = |f: Option<&Value>| -> BTreeMap<String, Value> {
            f.and_then(|f| f.get("LoggingConfig"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                .collect()
        };
        let number = |props: Option<&Value>, key: &str, default: u64| {
            props
                .and_then(|p| p.get(key))
                .or_else(|| globals.and_then(|g| g.get(key)))
                .and_then(Value::as_u64)
                .unwrap_or(default)
        };
        self.resources_of_type("AWS::Serverless::Function")
            .into_iter()
            .filter(|(_, r)| {
                r.get("Metadata")
                    .and_then(|m| m.get("BuildMethod"))
                    .and_then(Value::as_str)
                    == Some("rust-cargolambda")
            })
            .filter_map(|(id, r)| {
                let binary = r
                    .get("Metadata")?
                    .get("BuildProperties")?
                    .get("Binary")?
                    .as_str()?
                    .to_string();
                let props = r.get("Properties");
                let mut env = vars(globals);
                env.extend(vars(props));
                let mut log = logging(globals);
                log.extend(logging(props));
                Some(Function {
                    logical_id: id,
                    binary,
                    memory_mb: number(props, "MemorySize", 128),
                    timeout_secs: number(props, "Timeout", 3),
                    env,
                    logging: log,
                    condition: r
                        .get("Condition")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                })
            })
            .collect()
    }

    /// Whether the named condition holds for these parameter values.
    pub fn condition(&self, name: &str, b: &Bindings) -> Result<bool, String> {
        let def = self
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| format!("no condition {name}"))?;
        self.eval_condition(def, b)
    }

    fn eval_condition(&self, v: &Value, b: &Bindings) -> Result<bool, String> {
        let Value::Tagged(t) = v else {
            return Err(format!("condition is not an intrinsic: {v:?}"));
        };
        let list = || t.value.as_sequence().cloned().unwrap_or_default();
        match tag_name(t).as_str() {
            "Equals" => {
                let l = list();
                if l.len() != 2 {
                    return Err("!Equals takes two values".into());
                }
                Ok(self.resolve(&l[0], b)? == self.resolve(&l[1], b)?)
            }
            "Not" => Ok(!self.eval_condition(&list()[0], b)?),
            "And" => list()
                .iter()
                .try_fold(true, |acc, c| Ok(acc && self.eval_condition(c, b)?)),
            "Or" => list()
                .iter()
                .try_fold(false, |acc, c| Ok(acc || self.eval_condition(c, b)?)),
            "Condition" => self.condition(t.value.as_str().unwrap_or_default(), b),
            other => Err(format!("unsupported condition function !{other}")),
        }
    }

    /// A property value as the deployed stack would see it (a string; numbers and booleans as
    /// CloudFormation passes them to an environment variable).
    pub fn resolve(&self, v: &Value, b: &Bindings) -> Result<String, String> {
        if let Some(s) = scalar(v) {
            return Ok(s);
        }
        let Value::Tagged(t) = v else {
            return Err(format!("cannot resolve {v:?}"));
        };
        match tag_name(t).as_str() {
            "Ref" => {
                let name = t.value.as_str().unwrap_or_default();
                b.params
                    .get(name)
                    .or_else(|| b.refs.get(name))
                    .cloned()
                    .or_else(|| pseudo(name))
                    .ok_or_else(|| format!("!Ref {name}: nothing bound to it"))
            }
            "GetAtt" => {
                let key = match &t.value {
                    Value::String(s) => s.clone(),
                    Value::Sequence(parts) => parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("."),
                    other => return Err(format!("!GetAtt {other:?}")),
                };
                b.attrs
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| format!("!GetAtt {key}: nothing bound to it"))
            }
            "Sub" => {
                let (text, vars) = match &t.value {
                    Value::String(s) => (s.clone(), None),
                    Value::Sequence(parts) => (
                        parts
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        parts.get(1).cloned(),
                    ),
                    other => return Err(format!("!Sub {other:?}")),
                };
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let end = rest[i..].find('}').ok_or("unclosed ${ in !Sub")? + i;
                    let name = &rest[i + 2..end];
                    let local = vars.as_ref().and_then(|m| m.get(name));
                    let value = match local {
                        Some(v) => self.resolve(v, b)?,
                        None if name.contains('.') => b
                            .attrs
                            .get(name)
                            .cloned()
                            .ok_or_else(|| format!("${{{name}}}: nothing bound to it"))?,
                        None => b
                            .params
                            .get(name)
                            .or_else(|| b.refs.get(name))
                            .cloned()
                            .or_else(|| pseudo(name))
                            .ok_or_else(|| format!("${{{name}}}: nothing bound to it"))?,
                    };
                    out.push_str(&value);
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Ok(out)
            }
            "If" => {
                let l = t.value.as_sequence().cloned().unwrap_or_default();
                let cond = l.first().and_then(Value::as_str).unwrap_or_default();
                let pick = if self.condition(cond, b)? { 1 } else { 2 };
                self.resolve(l.get(pick).ok_or("!If needs three values")?, b)
            }
            other => Err(format!("unsupported intrinsic !{other}")),
        }
    }
}

fn pseudo(name: &str) -> Option<String> {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    match name {
        "AWS::Region" => Some(region),
        "AWS::AccountId" => Some("123456789012".into()),
        "AWS::URLSuffix" => Some("amazonaws.com".into()),
        "AWS::Partition" => Some("aws".into()),
        "AWS::StackName" => Some("connector-harness".into()),
        _ => None,
    }
}

/// A YAML scalar as CloudFormation would stringify it.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
