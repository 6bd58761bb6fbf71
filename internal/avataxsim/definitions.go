package avataxsim

import "net/http"

// taxCode is one row of definitions/taxcodes.
type taxCode struct {
	Code, Type, Description, Parent string
	Physical                        bool
}

// taxCodeTable is the sandbox's small tax code catalogue.
var taxCodeTable = []taxCode{
	{"P0000000", "P", "Tangible Personal Property (TPP)", "", true},
	{"NT", "N", "Non-Taxable Product/Service", "", false},
	{"FR", "F", "Shipping Only - common carrier - FOB destination", "", false},
	{"FR010000", "F", "Delivery by company vehicle", "FR000000", false},
	{"FR020100", "F", "Shipping Only - common carrier - FOB destination", "FR000000", false},
	{"FR020200", "F", "Shipping Only - common carrier - FOB origin", "FR000000", false},
	{"PC040000", "P", "Clothing And Related Products (B2C)", "P0000000", true},
	{"PC040100", "P", "Clothing And Related Products (B2C) - General", "PC040000", true},
	{"PC040200", "P", "Clothing And Related Products (B2C) - Accessories", "PC040000", true},
	{"PC040206", "P", "Clothing And Related Products (B2C) - Footwear", "PC040000", true},
	{"PC030000", "P", "Computers and computer hardware", "P0000000", true},
	{"PF050000", "P", "Food and Food Ingredients", "P0000000", true},
	{"PH050117", "P", "Dietary supplements", "P0000000", true},
	{"D0000000", "D", "Digital products", "", false},
	{"S0000000", "S", "Services (not otherwise classified)", "", false},
	{"O9999999", "O", "Temporary Unmapped Other SKU - taxable default", "", false},
}

// taxCodes answers definitions/taxcodes from taxCodeTable, with $filter,
// $orderBy, $top and $skip.
func (s *Sandbox) taxCodes(req *request) (int, any, *apiError) {
	rows := make([]map[string]any, 0, len(taxCodeTable))
	for _, tc := range taxCodeTable {
		row := map[string]any{
			"id": taxCodeID(tc.Code), "companyId": 1, "taxCode": tc.Code, "taxCodeTypeId": tc.Type,
			"description": tc.Description, "isPhysical": tc.Physical, "goodsServiceCode": 0, "entityUseCode": "",
			"isActive": true, "isSSTCertified": true, "createdDate": "2006-06-16T19:40:14.52", "createdUserId": 0,
			"modifiedDate": "2021-06-29T03:21:08.86Z", "modifiedUserId": 0,
		}
		row["parentTaxCode"] = tc.Parent
		rows = append(rows, row)
	}
	out, apiErr := fetch(rows, req, 1000)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, out, nil
}

// taxCodeID gives each tax code a stable id.
func taxCodeID(code string) int64 {
	switch code {
	case "P0000000":
		return 8087
	case "NT":
		return 9882
	case "FR":
		return 10890
	case "FR020100":
		return 4784
	}
	var h int64 = 7
	for _, r := range code {
		h = (h*31 + int64(r)) % 100000
	}
	return 10000 + h
}
