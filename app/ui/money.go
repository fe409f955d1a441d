package ui

import (
	"errors"
	"strconv"
	"strings"
)

// Money is integer minor units (pence, cents) of an ISO 4217 currency, as
// the co-op's figures come from the relay.

// currencySymbols are the symbols written before an amount; other
// currencies are written with their code, "CHF 10.00".
var currencySymbols = map[string]string{"GBP": "£", "EUR": "€", "USD": "$"}

// currencyDecimals is how many minor-unit digits a currency has, where it
// is not two.
var currencyDecimals = map[string]int{"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XAF": 0, "XOF": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}

// decimalsOf is how many minor-unit digits currency has.
func decimalsOf(currency string) int {
	if d, ok := currencyDecimals[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// formatMoney writes minor units of currency with its symbol (or code),
// thousands separated: "£1,234.50", "-£3.00", "CHF 10.00".
func formatMoney(amount int64, currency string) string {
	return moneyText(amount, currency, decimalsOf(currency))
}

// formatMoneyWhole writes an amount rounded to whole units of currency:
// "£1,235", for the axis of a chart.
func formatMoneyWhole(amount int64, currency string) string {
	d := decimalsOf(currency)
	unit := pow10(d)
	whole := (abs64(amount) + unit/2) / unit
	if amount < 0 {
		whole = -whole
	}
	return moneyText(whole, currency, 0)
}

func moneyText(amount int64, currency string, decimals int) string {
	var b strings.Builder
	if amount < 0 {
		b.WriteByte('-')
	}
	cur := strings.ToUpper(currency)
	if sym, ok := currencySymbols[cur]; ok {
		b.WriteString(sym)
	} else if cur != "" {
		b.WriteString(cur + " ")
	}
	u := abs64(amount)
	unit := pow10(decimals)
	b.WriteString(groupThousands(strconv.FormatInt(u/unit, 10)))
	if decimals > 0 {
		frac := strconv.FormatInt(u%unit, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", decimals-len(frac)) + frac)
	}
	return b.String()
}

// groupThousands puts a comma between each group of three digits.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	head := len(digits) % 3
	if head == 0 {
		head = 3
	}
	var b strings.Builder
	b.WriteString(digits[:head])
	for i := head; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// errBadAmount: an amount typed in a form is not one.
var errBadAmount = errors.New("not an amount")

// maxAmount bounds an amount typed in a form: ten thousand million units.
const maxAmount = 1e10

// parseMoney reads an amount typed in currency's units ("1,250.5",
// "£12", "12.00") into minor units. It refuses negative amounts and more
// decimals than the currency has.
func parseMoney(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	if sym, ok := currencySymbols[strings.ToUpper(currency)]; ok {
		s = strings.TrimPrefix(s, sym)
	}
	s = strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(s), strings.ToUpper(currency)))
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	d := decimalsOf(currency)
	if whole == "" && frac == "" || len(frac) > d {
		return 0, errBadAmount
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, errBadAmount
			}
		}
	}
	if len(whole) > 11 {
		return 0, errBadAmount
	}
	var w, f int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if w > maxAmount {
		return 0, errBadAmount
	}
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", d-len(frac)), 10, 64)
	}
	return w*pow10(d) + f, nil
}
