//! Customer data as the console shows it: enough to tell two buyers apart on the phone with the
//! marketplace ("the order of J. S., e-mail j…@example.com, phone ending 4321") and to see where a
//! parcel goes (city, state, country, the postal code's region), never enough to contact or
//! identify the buyer. Street, number, complement, reference, coordinates and the receiver's name
//! are not shown at all.

use domain::order::{Address, Customer};

/// What the console prints for a customer and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub name: Option<String>,
    pub email: Option<String>,
    pub document: Option<String>,
    pub phone: Option<String>,
    /// City, state, country.
    pub place: Option<String>,
    pub postal_code: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn initial(s: &str) -> Option<String> {
    s.chars().next().map(|c| format!("{}.", c.to_uppercase()))
}

/// `J. S.` from "João" "Silva".
pub fn name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<String> = [first, last]
        .into_iter()
        .flatten()
        .filter_map(initial)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// `j…@example.com`: the first character of the local part and the domain.
pub fn email(e: &str) -> String {
    match e.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        _ => "…".into(),
    }
}

/// `…` and the last `keep` characters, only when at least as many are hidden.
pub fn tail(s: &str, keep: usize) -> String {
    let chars: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
    if chars.len() < keep * 2 {
        return "…".into();
    }
    let end: String = chars[chars.len() - keep..].iter().collect();
    format!("…{end}")
}

/// The postal code's first three characters (its region), the rest hidden.
pub fn postal_code(p: &str) -> String {
    let chars: Vec<char> = p.chars().filter(|c| c.is_alphanumeric()).collect();
    if chars.len() <= 3 {
        return "…".into();
    }
    format!("{}…", chars[..3].iter().collect::<String>())
}

pub fn mask(customer: Option<&Customer>, address: Option<&Address>) -> Masked {
    let c = customer.cloned().unwrap_or_default();
    let a = address.cloned().unwrap_or_default();
    let place: Vec<&str> = [
        non_empty(&a.city),
        non_empty(&a.state),
        non_empty(&a.country),
    ]
    .into_iter()
    .flatten()
    .collect();
    Masked {
        name: name(non_empty(&c.first_name), non_empty(&c.last_name)),
        email: non_empty(&c.email).map(email),
        document: non_empty(&c.document).map(|d| {
            let kind = non_empty(&c.document_type).unwrap_or("document");
            format!("{kind} {}", tail(d, 2))
        }),
        phone: non_empty(&c.phone).map(|p| tail(p, 4)),
        place: (!place.is_empty()).then(|| place.join(", ")),
        postal_code: non_empty(&a.postal_code).map(postal_code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer() -> (Customer, Address) {
        let c = Customer {
            email: Some("joao.silva@example.com".into()),
            first_name: Some("joão".into()),
            last_name: Some("Silva".into()),
            document_type: Some("cpf".into()),
            document: Some("123.456.789-09".into()),
            phone: Some("+55 21 98765-4321".into()),
        };
        let a = Address {
            receiver_name: Some("João Silva".into()),
            postal_code: Some("22250-040".into()),
            city: Some("Rio de Janeiro".into()),
            state: Some("RJ".into()),
            country: Some("BRA".into()),
            street: Some("Praia de Botafogo".into()),
            number: Some("300".into()),
            complement: Some("apto 1201".into()),
            ..Default::default()
        };
        (c, a)
    }

    #[test]
    fn the_masked_buyer_keeps_initials_domain_and_region_and_nothing_that_identifies() {
        let (c, a) = buyer();
        let m = mask(Some(&c), Some(&a));
        assert_eq!(m.name.as_deref(), Some("J. S."));
        assert_eq!(m.email.as_deref(), Some("j…@example.com"));
        assert_eq!(m.document.as_deref(), Some("cpf …09"));
        assert_eq!(m.phone.as_deref(), Some("…4321"));
        assert_eq!(m.place.as_deref(), Some("Rio de Janeiro, RJ, BRA"));
        assert_eq!(m.postal_code.as_deref(), Some("222…"));
        let shown = format!("{m:?}");
        for secret in [
            "joao.silva",
            "João Silva",
            "Silva",
            "123.456",
            "98765",
            "Botafogo",
            "300",
            "1201",
            "040",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    #[test]
    fn short_values_are_hidden_whole_and_absent_ones_stay_absent() {
        assert_eq!(tail("123", 2), "…");
        assert_eq!(postal_code("123"), "…");
        assert_eq!(email("@example.com"), "…");
        assert_eq!(email("no-at-sign"), "…");
        let m = mask(None, None);
        assert_eq!(
            m,
            Masked {
                name: None,
                email: None,
                document: None,
                phone: None,
                place: None,
                postal_code: None
            }
        );
    }
}
