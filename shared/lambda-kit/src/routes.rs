//! Route matching on the path *suffix*: the fulfillment endpoint registered in VTEX may carry any
//! prefix (`/api`, a stage, a secret segment), and VTEX appends the protocol paths to it.

use http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET|POST …/pvt/orderForms/simulation`
    Simulation,
    /// `POST …/pvt/orders`
    PlaceOrders,
    /// `POST …/pvt/orders/{sellerOrderId}/fulfill`
    Fulfill(String),
    /// `POST …/pvt/orders/{orderId}/cancel`
    Cancel(String),
    /// `POST …/pub/orders/{orderId}/invoice` (marketplace-services endpoint, import flow)
    MseInvoice(String),
    /// `GET …/admin/orders/{orderId}` (operator view of one order and its log)
    AdminOrder(String),
}

impl Route {
    /// Matches a request path (already percent-decoded or not; ids are decoded here).
    pub fn match_path(path: &str) -> Option<Route> {
        let path = path.split('?').next().unwrap_or(path);
        // Only the last four segments decide; kept on the stack (every request is matched).
        let mut last = [""; 4];
        let mut n = 0;
        for seg in path.rsplit('/').filter(|s| !s.is_empty()).take(4) {
            n += 1;
            last[4 - n] = seg;
        }
        let segs = &last[4 - n..];
        let tail = |k: usize| -> Option<&[&str]> { (n >= k).then(|| &segs[n - k..]) };
        if let Some(["pvt", "orderForms", "simulation"]) = tail(3) {
            return Some(Route::Simulation);
        }
        if let Some(["pvt", "orders"]) = tail(2) {
            return Some(Route::PlaceOrders);
        }
        if let Some(["pvt", "orders", id, action]) = tail(4) {
            let id = decode(id)?;
            return match *action {
                "fulfill" => Some(Route::Fulfill(id)),
                "cancel" => Some(Route::Cancel(id)),
                _ => None,
            };
        }
        if let Some(["pub", "orders", id, "invoice"]) = tail(4) {
            return Some(Route::MseInvoice(decode(id)?));
        }
        if let Some(["admin", "orders", id]) = tail(3) {
            return Some(Route::AdminOrder(decode(id)?));
        }
        None
    }

    /// Methods the route accepts.
    pub fn allows(&self, method: &Method) -> bool {
        match self {
            Route::Simulation => method == Method::GET || method == Method::POST,
            Route::AdminOrder(_) => method == Method::GET,
            _ => method == Method::POST,
        }
    }
}

/// The percent-decoded id, or `None` (no route: a 404) when it is not one an order can have: empty,
/// `.`/`..`, a slash, a control character or too long ([`domain::outbound::path_id_problem`]).
/// Such an id would otherwise be stored and later put into VTEX URLs or storage keys.
fn decode(seg: &str) -> Option<String> {
    let s: String =
        url::form_urlencoded::parse(format!("x={}", seg.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
    domain::outbound::path_id_problem(&s).is_none().then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_with_any_prefix() {
        assert_eq!(
            Route::match_path("/pvt/orderForms/simulation"),
            Some(Route::Simulation)
        );
        assert_eq!(
            Route::match_path("/api/s3cr3t/pvt/orderForms/simulation"),
            Some(Route::Simulation)
        );
        assert_eq!(Route::match_path("/x/pvt/orders"), Some(Route::PlaceOrders));
        assert_eq!(
            Route::match_path("/pvt/orders/SO-1/fulfill"),
            Some(Route::Fulfill("SO-1".into()))
        );
        assert_eq!(
            Route::match_path("/pvt/orders/a%20b%3F/cancel"),
            Some(Route::Cancel("a b?".into()))
        );
        assert_eq!(
            Route::match_path("/mse/pub/orders/ABC-123/invoice"),
            Some(Route::MseInvoice("ABC-123".into()))
        );
        assert_eq!(Route::match_path("/pvt/orders/1/explode"), None);
        assert_eq!(Route::match_path("/"), None);
    }

    #[test]
    fn ids_no_order_can_have_match_no_route() {
        let long = "9".repeat(129);
        for id in [
            "%2E%2E",
            "%2e",
            "a%2Fb",
            "a%5Cb",
            "a%00b",
            "a%0Ab",
            long.as_str(),
        ] {
            for path in [
                format!("/s/pvt/orders/{id}/fulfill"),
                format!("/s/pvt/orders/{id}/cancel"),
                format!("/s/pub/orders/{id}/invoice"),
                format!("/s/admin/orders/{id}"),
            ] {
                assert_eq!(Route::match_path(&path), None, "{path}");
            }
        }
        assert_eq!(
            Route::match_path(&format!("/s/admin/orders/{}", "9".repeat(128))),
            Some(Route::AdminOrder("9".repeat(128)))
        );
    }
}
