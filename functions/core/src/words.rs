//! Numbers in the words people read in messages and the audit log: counts with thousands separators
//! and the right plural ("1 row", "27,007 rows"), waits as "in 15 minutes".

/// A count with thousands separators: "27,007".
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count and its noun, singular or plural: "1 row", "27,007 rows".
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A wait as people say it: "in 30 seconds", "in 1 minute", "in 15 minutes", "in 2 hours".
pub fn in_words(seconds: i64) -> String {
    let seconds = seconds.max(1);
    let (amount, unit) = if seconds < 60 {
        (seconds, "second")
    } else if seconds < 3_600 {
        ((seconds + 59) / 60, "minute")
    } else if seconds < 86_400 {
        ((seconds + 3_599) / 3_600, "hour")
    } else {
        ((seconds + 86_399) / 86_400, "day")
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("in {amount} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_and_plural_where_they_should_be() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(27_007), "27,007");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(counted(1, "row", "rows"), "1 row");
        assert_eq!(counted(2_500, "row", "rows"), "2,500 rows");
    }

    #[test]
    fn waits_are_said_in_words_rounded_up() {
        assert_eq!(in_words(1), "in 1 second");
        assert_eq!(in_words(30), "in 30 seconds");
        assert_eq!(in_words(60), "in 1 minute");
        assert_eq!(in_words(61), "in 2 minutes");
        assert_eq!(in_words(900), "in 15 minutes");
        assert_eq!(in_words(7_200), "in 2 hours");
        assert_eq!(in_words(90_000), "in 2 days");
    }
}
