package avataxsim

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// ping answers utilities/ping, which needs no credentials and says
// whether the ones sent are accepted.
func (s *Sandbox) ping(req *request) (int, any, *apiError) {
	res := avatax.PingResultModel{Version: softwareVersion, Authenticated: false, AuthenticationType: "None"}
	if !s.authenticated(req.r) {
		return http.StatusOK, res, nil
	}
	res.Authenticated = true
	res.AuthenticationType = "AccountIdLicenseKey"
	res.AuthenticatedUserName = s.opts.AccountID
	res.AuthenticatedUserID = 1
	res.AuthenticatedAccountID = parseAccountID(s.opts.AccountID)
	m := toMap(res)
	m["crmid"] = "0000000000"
	return http.StatusOK, m, nil
}

// parseAccountID is the number of a numeric account id, 0 otherwise.
func parseAccountID(s string) int64 {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// subscriptions answers utilities/subscriptions with the three services an
// AvaTax account usually has.
func (s *Sandbox) subscriptions(req *request) (int, any, *apiError) {
	var rows []map[string]any
	for i, name := range []string{"AvaTaxST", "AvaTaxPro", "AvaTaxGlobal"} {
		rows = append(rows, map[string]any{
			"id": 8224630 + i, "accountId": json.Number(strconv.FormatInt(parseAccountID(s.opts.AccountID), 10)),
			"subscriptionTypeId": i + 1, "subscriptionDescription": name, "effectiveDate": "2024-01-01",
			"createdDate": "2024-01-01T00:00:00", "createdUserId": 1, "modifiedDate": "2024-01-01T00:00:00", "modifiedUserId": 1,
		})
	}
	out, apiErr := fetch(rows, req, 1000)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, out, nil
}
