#!/bin/sh
# seller-check --erp-hook for the local runner (`cargo run -p local`): plays the ERP of the order
# seller-check just fulfilled by dropping its invoices, a tracking number and a carrier event on
# the runner's dispatch queue. The dispatch worker then sends them to VTEX_BASE_URL, i.e. to
# seller-check's --oms-listen.
#
# seller-check sets SELLER_CHECK_ORDER_ID, _MARKETPLACE_ORDER_ID, _SKU, _QUANTITY, _PRICE (unit,
# cents), _FREIGHT (cents), _VALUE (cents) and _BASE (the --base URL).
set -eu
: "${SELLER_CHECK_BASE:?run me from seller-check --erp-hook}"
queue="$SELLER_CHECK_BASE/_local/queues/dispatch"
order="$SELLER_CHECK_ORDER_ID"
now=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
send() {
  curl -fsS -o /dev/null "$queue" -H "x-message-group-id: $order" \
    -H "x-message-deduplication-id: $1" -d "$2"
}
invoice() { # number, units, value
  send "$1" '{"type": "invoice", "version": 1, "orderId": "'"$order"'", "invoice": {"type": "Output",
    "invoiceNumber": "'"$1"'", "invoiceValue": '"$3"', "issuanceDate": "'"$now"'",
    "items": [{"id": "'"$SELLER_CHECK_SKU"'", "price": '"$SELLER_CHECK_PRICE"', "quantity": '"$2"'}]}}'
}
first="NF-$order-1"
if [ "$SELLER_CHECK_QUANTITY" -ge 2 ]; then
  # Two packages: one unit with half the freight, then the rest (the last absorbs the rounding).
  half=$((SELLER_CHECK_FREIGHT / 2))
  invoice "$first" 1 $((SELLER_CHECK_PRICE + half))
  invoice "NF-$order-2" $((SELLER_CHECK_QUANTITY - 1)) $((SELLER_CHECK_VALUE - SELLER_CHECK_PRICE - half))
else
  invoice "$first" "$SELLER_CHECK_QUANTITY" "$SELLER_CHECK_VALUE"
fi
send "$first-tracking" '{"type": "tracking", "version": 1, "orderId": "'"$order"'", "invoiceNumber": "'"$first"'",
  "tracking": {"trackingNumber": "SCHK000001", "courier": "seller-check", "dispatchedDate": "'"$now"'"}}'
send "$first-status" '{"type": "trackingStatus", "version": 1, "orderId": "'"$order"'", "invoiceNumber": "'"$first"'",
  "trackingStatus": {"isDelivered": false, "deliveredDate": null,
  "events": [{"city": "Rio de Janeiro", "state": "RJ", "description": "Em transito", "date": "'"$(date -u +%Y-%m-%d)"'"}]}}'
