//! Requests, responses and errors.

use serde::Serialize;

use crate::bindings::preau::plugin::types as wit;

/// HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET (and HEAD).
    Get,
    /// POST.
    Post,
}

/// The authenticated caller.
#[derive(Clone, Debug, Serialize)]
pub struct Caller {
    /// Stable user id.
    pub id: String,
    /// Login.
    pub login: String,
    /// Name to display.
    pub display_name: String,
    /// Profiles in this establishment (`eleve`, `parent`, `enseignant`, `personnel`).
    pub profiles: Vec<String>,
    /// Groups in this establishment.
    pub groups: Vec<String>,
    /// Functions in this establishment.
    pub functions: Vec<String>,
    /// Administers the whole region (may manage the plugin's region-wide data).
    pub region_admin: bool,
}

/// The rubrique (section of the portal) a plugin instance lives in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rubrique {
    /// Stable id (`bac-a-sable`).
    pub id: String,
    /// Title (`Bac à sable`).
    pub title: String,
}

/// Who calls, with which roles, in which establishment, and where the plugin is mounted.
#[derive(Clone, Debug)]
pub struct Invocation {
    caller: Option<Caller>,
    roles: Vec<String>,
    uai: String,
    establishment_name: String,
    time_zone: String,
    mount: String,
    rubrique: Option<Rubrique>,
}

impl Invocation {
    pub(crate) fn from_wit(invocation: wit::Invocation) -> Self {
        Invocation {
            caller: invocation.caller.map(|c| Caller {
                id: c.id,
                login: c.login,
                display_name: c.display_name,
                profiles: c.profiles,
                groups: c.groups,
                functions: c.functions,
                region_admin: c.region_admin,
            }),
            roles: invocation.roles,
            uai: invocation.establishment.uai,
            establishment_name: invocation.establishment.name,
            time_zone: invocation.establishment.time_zone,
            mount: invocation.mount,
            rubrique: invocation.rubrique.map(|r| Rubrique {
                id: r.id,
                title: r.title,
            }),
        }
    }

    /// Builds an invocation by hand, for native unit tests of plugin logic.
    pub fn for_tests(caller: Option<Caller>, roles: &[&str], mount: &str) -> Self {
        Invocation {
            caller,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            uai: "0000000A".into(),
            establishment_name: "Établissement de test".into(),
            time_zone: crate::time::DEFAULT_TIME_ZONE.into(),
            mount: mount.into(),
            rubrique: None,
        }
    }

    /// The same invocation in the establishment time zone `name` (an IANA name), for
    /// native unit tests of plugin logic.
    pub fn with_time_zone(mut self, name: &str) -> Self {
        self.time_zone = name.into();
        self
    }

    /// The rubrique this instance lives in; none for the establishment's own instance.
    /// Each rubrique has its own data: the store is already scoped to it.
    pub fn rubrique(&self) -> Option<&Rubrique> {
        self.rubrique.as_ref()
    }

    /// Whether the caller administers the region.
    pub fn is_region_admin(&self) -> bool {
        self.caller.as_ref().is_some_and(|c| c.region_admin)
    }

    /// The authenticated caller, if any.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The caller's roles in this plugin here, as resolved by the host.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the caller holds at least one of `roles`.
    pub fn has_any_role(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.has_role(r))
    }

    /// The establishment's UAI code.
    pub fn uai(&self) -> &str {
        &self.uai
    }

    /// The establishment's name.
    pub fn establishment_name(&self) -> &str {
        &self.establishment_name
    }

    /// The establishment's time zone (Europe/Paris unless the establishment is
    /// overseas: Indian/Reunion, America/Cayenne…), as the host set it.
    pub fn time_zone(&self) -> crate::time::TimeZone {
        crate::time::TimeZone::named_or_default(&self.time_zone)
    }

    /// The IANA name of the establishment's time zone (`Europe/Paris`).
    pub fn time_zone_name(&self) -> &str {
        &self.time_zone
    }

    /// The establishment's local date and time now.
    pub fn local_now(&self) -> crate::time::LocalTime {
        self.time_zone().local(crate::time::now())
    }

    /// The host's « Droits d'accès » page of one of the plugin's objects (a scope,
    /// see [`crate::rights`]), for administrators and holders of the manifest's
    /// `scoped_rights` role.
    pub fn rights_url(&self, scope: &str) -> String {
        // `/e/<uai>/<plugin>` or `/e/<uai>/r/<rubrique>/<plugin>`.
        let segments: Vec<&str> = self.mount.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["e", uai, "r", rubrique, plugin] => {
                format!("/admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}/objet/{scope}")
            }
            ["e", uai, plugin] => format!("/admin/e/{uai}/plugins/{plugin}/droits/objet/{scope}"),
            _ => String::new(),
        }
    }

    /// Absolute URL of a path below the plugin's mount: `url("/new")` →
    /// `/e/0420003A/blog/new`; `url("/")` → `/e/0420003A/blog/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.mount, path)
    }
}

/// Decoded form fields, with validation helpers that produce French field errors.
#[derive(Clone, Debug, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Wraps decoded pairs.
    pub fn new(fields: Vec<(String, String)>) -> Self {
        Form { fields }
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated field (checkbox groups, multiple selects).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A field's value trimmed, or the empty string.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_string()
    }

    /// Whether a checkbox is ticked (present with any value but `off`/`false`).
    pub fn checkbox(&self, name: &str) -> bool {
        matches!(self.get(name), Some(v) if v != "off" && v != "false")
    }

    /// A non-empty trimmed value, or an [`Error::Invalid`] carrying `message` for `name`.
    pub fn required(&self, name: &str, message: &str) -> Result<String> {
        let value = self.text(name);
        if value.is_empty() {
            Err(Error::Invalid(vec![FieldError::new(name, message)]))
        } else {
            Ok(value)
        }
    }
}

/// An HTTP request routed to the plugin.
#[derive(Clone, Debug)]
pub struct Request {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    form: Form,
    files: Vec<crate::files::Uploaded>,
    invocation: Invocation,
}

impl Request {
    pub(crate) fn from_wit(request: wit::Request) -> Self {
        Request {
            method: match request.method {
                wit::Method::Get => Method::Get,
                wit::Method::Post => Method::Post,
            },
            path: request.path,
            query: request.query,
            form: Form::new(request.form),
            files: request
                .files
                .into_iter()
                .map(|f| crate::files::Uploaded {
                    field: f.field,
                    id: f.id,
                    name: f.name,
                    media_type: f.media_type,
                    size: f.size,
                })
                .collect(),
            invocation: Invocation::from_wit(request.invocation),
        }
    }

    /// Builds a request by hand, for native unit tests of plugin logic.
    pub fn for_tests(
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        invocation: Invocation,
    ) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            form: Form::new(
                form.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            files: Vec::new(),
            invocation,
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path below the mount, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The page number from `?page=`, at least 1.
    pub fn page_number(&self) -> u32 {
        self.query("page")
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }

    /// The submitted form.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// The files of a `multipart/form-data` POST sent in form field `field`
    /// (pending: [`crate::files::keep`] them), in the order they came.
    pub fn files(&self, field: &str) -> Vec<&crate::files::Uploaded> {
        self.files.iter().filter(|f| f.field == field).collect()
    }

    /// Caller, roles, establishment and mount.
    pub fn invocation(&self) -> &Invocation {
        &self.invocation
    }

    /// The authenticated caller, if any.
    pub fn caller(&self) -> Option<&Caller> {
        self.invocation.caller()
    }

    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.invocation.has_role(role)
    }

    /// `Ok` if the caller holds `role`, [`Error::Forbidden`] otherwise.
    pub fn require_role(&self, role: &str) -> Result<()> {
        self.require_any_role(&[role])
    }

    /// `Ok` if the caller holds one of `roles`, [`Error::Forbidden`] otherwise.
    pub fn require_any_role(&self, roles: &[&str]) -> Result<()> {
        if self.invocation.has_any_role(roles) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Absolute URL of a path below the plugin's mount.
    pub fn url(&self, path: &str) -> String {
        self.invocation.url(path)
    }
}

/// A problem with one form field, in French for the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Field name.
    pub field: String,
    /// Message.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: &str, message: &str) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Errors a handler returns with `?`; each becomes the matching response.
#[derive(Debug)]
pub enum Error {
    /// 404.
    NotFound,
    /// 403 (the host sends anonymous visitors to the sign-in page instead).
    Forbidden,
    /// 422 with field errors.
    Invalid(Vec<FieldError>),
    /// 500; the message is logged, never shown.
    Internal(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotFound => f.write_str("introuvable"),
            Error::Forbidden => f.write_str("accès refusé"),
            Error::Invalid(errors) => {
                let list: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{} : {}", e.field, e.message))
                    .collect();
                write!(f, "saisie invalide ({})", list.join(" ; "))
            }
            Error::Internal(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("JSON : {e}"))
    }
}

/// Result of a handler.
pub type Result<T> = std::result::Result<T, Error>;

/// The plugin's answer to a request.
#[derive(Debug)]
pub struct Response(wit::Response);

impl Response {
    /// A page: `template` from the plugin's `templates/` folder, rendered in the
    /// establishment's theme with `context` (autoescaped).
    pub fn page(template: &str, title: &str, context: &impl Serialize) -> Response {
        match serde_json::to_string(context) {
            Ok(context) => Response(wit::Response::Page(wit::Page {
                template: template.into(),
                title: title.into(),
                context,
                status: 200,
            })),
            Err(e) => Response::internal(&format!("contexte de page : {e}")),
        }
    }

    /// Changes the status of a page (e.g. 422 for a form redisplayed with errors).
    pub fn with_status(mut self, status: u16) -> Response {
        if let wit::Response::Page(page) = &mut self.0 {
            page.status = status;
        }
        self
    }

    /// A 303 redirect to a path below the plugin's mount (`/` is its index).
    pub fn redirect(path: &str) -> Response {
        Response(wit::Response::Redirect(path.into()))
    }

    /// A JSON document.
    pub fn json(value: &impl Serialize) -> Response {
        match serde_json::to_string(value) {
            Ok(body) => Response(wit::Response::Json(body)),
            Err(e) => Response::internal(&format!("JSON : {e}")),
        }
    }

    /// A file download.
    pub fn download(filename: &str, content_type: &str, body: Vec<u8>) -> Response {
        Response(wit::Response::Download(wit::Download {
            filename: filename.into(),
            content_type: content_type.into(),
            body,
        }))
    }

    /// One of this instance's kept files, streamed by the host: shown in the
    /// browser when `inline` and its type allows it (images, PDF, plain text),
    /// downloaded otherwise.
    pub fn file(id: &str, inline: bool) -> Response {
        Response(wit::Response::File(wit::ServedFile {
            id: id.into(),
            inline,
        }))
    }

    /// 404.
    pub fn not_found() -> Response {
        Response(wit::Response::NotFound)
    }

    /// 403.
    pub fn forbidden() -> Response {
        Response(wit::Response::Forbidden)
    }

    /// 500, with a message for the log.
    pub fn internal(message: &str) -> Response {
        Response(wit::Response::Internal(message.into()))
    }

    /// Whether this is a page with the given template (for unit tests).
    pub fn is_page(&self, template: &str) -> bool {
        matches!(&self.0, wit::Response::Page(p) if p.template == template)
    }

    /// The redirect target, if this is a redirect (for unit tests).
    pub fn redirect_target(&self) -> Option<&str> {
        match &self.0 {
            wit::Response::Redirect(to) => Some(to),
            _ => None,
        }
    }

    pub(crate) fn into_wit(self) -> wit::Response {
        self.0
    }
}

impl From<Error> for Response {
    fn from(error: Error) -> Self {
        Response(match error {
            Error::NotFound => wit::Response::NotFound,
            Error::Forbidden => wit::Response::Forbidden,
            Error::Invalid(errors) => wit::Response::Invalid(
                errors
                    .into_iter()
                    .map(|e| wit::FieldError {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            ),
            Error::Internal(message) => wit::Response::Internal(message),
        })
    }
}

impl From<Result<Response>> for Response {
    fn from(result: Result<Response>) -> Self {
        result.unwrap_or_else(Response::from)
    }
}

/// A rendered block (home page, embedding): a template + context of the plugin.
#[derive(Debug)]
pub struct Fragment {
    template: String,
    title: String,
    context: String,
    more: Option<String>,
}

impl Fragment {
    /// A fragment rendered from `template` with `context`, titled `title`.
    pub fn new(template: &str, title: &str, context: &impl Serialize) -> Result<Fragment> {
        Ok(Fragment {
            template: template.into(),
            title: title.into(),
            context: serde_json::to_string(context)?,
            more: None,
        })
    }

    /// Adds a "see more" link to a path below the mount.
    pub fn with_more(mut self, path: &str) -> Fragment {
        self.more = Some(path.into());
        self
    }

    pub(crate) fn into_wit(self) -> wit::Fragment {
        wit::Fragment {
            template: self.template,
            title: self.title,
            context: self.context,
            more: self.more,
        }
    }
}
