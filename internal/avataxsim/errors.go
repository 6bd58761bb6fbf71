package avataxsim

import (
	"fmt"
	"net/http"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// apiError is an AvaTax error answer: an HTTP status and the {"error": {...}}
// envelope.
type apiError struct {
	Status int
	Body   avatax.ErrorResult
}

func (e *apiError) Error() string {
	if e == nil || e.Body.Error == nil {
		return "avatax error"
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Body.Error.Code, e.Body.Error.Message)
}

const helpBase = "https://developer.avalara.com/avatax/errors/"

// errorNumbers holds the ErrorCodeId numbers of the codes the sandbox emits.
var errorNumbers = map[string]int{
	"EntityNotFoundError":             4,
	"ValueRequiredError":              5,
	"StringLengthError":               13,
	"MaxStringLengthError":            14,
	"AuthenticationException":         30,
	"AuthenticationIncomplete":        34,
	"BasicAuthIncorrect":              35,
	"ModelRequiredException":          38,
	"JsonFormatError":                 47,
	"InvalidDecimalValue":             48,
	"UnhandledException":              50,
	"ModelStateInvalid":               70,
	"InvalidEnumValue":                164,
	"NotEnoughAddressesInfo":          176,
	"CannotAdjustDocumentType":        195,
	"TransactionAlreadyCancelled":     198,
	"InternalServerError":             209,
	"GetTaxError":                     300,
	"AddressConflictException":        301,
	"DocumentCodeConflict":            303,
	"MissingAddress":                  304,
	"InvalidAddress":                  309,
	"AddressIncomplete":               309,
	"MissingLine":                     311,
	"DocumentNotCommitted":            313,
	"InvalidDocumentTypesToFetch":     315,
	"TimeoutRequested":                316,
	"InvalidPostalCode":               317,
	"ServerUnreachable":               500,
	"InvalidDocumentStatusForRefund":  700,
	"RefundTypeAndPercentageMismatch": 701,
	"InvalidDocumentTypeForRefund":    702,
	"RefundTypeAndLineMismatch":       703,
	"RefundLinesRequired":             704,
	"InvalidRefundType":               705,
	"RefundPercentageForTaxOnly":      706,
	"LineNoOutOfRange":                707,
	"RefundPercentageOutOfRange":      708,
	"RefundPercentageMissing":         709,
	"CannotModifyLockedTransaction":   1100,
	"LinesNotSpecified":               1103,
	"TransactionAlreadyExists":        1303,
	"InvalidDocumentType":             1310,
	"TransactionIsCommitted":          1313,
	"InvalidDocumentStatus":           1314,
	"RequestLimitExceeded":            1715,
	"ConcurrentRequestLimitExceeded":  1716,
	"ErrorCountLimitExceededError":    1722,
	"RateLimitExceededError":          1723,
	"ServiceTimeout":                  4015,
	"ServiceUnavailable":              4016,
	"InvalidQueryFilter":              2602,
	"DateFormatError":                 18,
	"RangeError":                      11,
	"RangeCompareError":               12,
	"InvalidDocumentStatusForVerify":  1306,
	"DocumentDoesNotExist":            1312,
}

// newError builds an error answer with one detail entry whose code equals
// the top-level code.
func newError(status int, code, message, description, target string) *apiError {
	return newErrorDetail(status, code, target, avatax.ErrorDetail{
		Code:        code,
		Message:     message,
		Description: description,
	})
}

// newErrorDetail builds an error answer from a top-level code and one or
// more details; numbers, faultCode, helpLink and severity are filled in when
// left empty.
func newErrorDetail(status int, code, target string, details ...avatax.ErrorDetail) *apiError {
	for i := range details {
		d := &details[i]
		if d.Number == 0 {
			d.Number = errorNumbers[d.Code]
		}
		if d.FaultCode == "" {
			d.FaultCode = "Client"
		}
		if d.HelpLink == "" {
			d.HelpLink = helpBase + d.Code
		}
		if d.Severity == "" {
			d.Severity = "Error"
		}
	}
	msg := ""
	if len(details) > 0 {
		msg = details[0].Message
	}
	return &apiError{Status: status, Body: avatax.ErrorResult{Error: &avatax.ErrorInfo{
		Code: code, Message: msg, Target: target, Details: details,
	}}}
}

func errAuthentication() *apiError {
	return newErrorDetail(http.StatusUnauthorized, "AuthenticationException", "HttpRequestHeaders", avatax.ErrorDetail{
		Code:        "AuthenticationException",
		Message:     "Authentication failed.",
		Description: "Unable to authenticate the user or the account.",
		Severity:    "Exception",
	})
}

func errDocumentNotFound(companyCode, code string) *apiError {
	return newErrorDetail(http.StatusNotFound, "EntityNotFoundError", "HttpRequest", avatax.ErrorDetail{
		Code:        "EntityNotFoundError",
		Message:     "Document not found.",
		Description: fmt.Sprintf("The Document with code '%s:%s' was not found.", companyCode, code),
	})
}

func errCompanyNotFound(companyCode string) *apiError {
	return newErrorDetail(http.StatusNotFound, "EntityNotFoundError", "HttpRequest", avatax.ErrorDetail{
		Code:        "EntityNotFoundError",
		Message:     "Company not found.",
		Description: fmt.Sprintf("The Company with code '%s' was not found.", companyCode),
	})
}

func errModelRequired() *apiError {
	return newErrorDetail(http.StatusBadRequest, "ModelRequiredException", "IncorrectData", avatax.ErrorDetail{
		Code:        "ModelRequiredException",
		Message:     "A required model was not provided.",
		Description: "Please verify that your request included a request body in valid JSON format.",
		Severity:    "Exception",
	})
}

func errJSONFormat(reason string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "ModelStateInvalid", "HttpRequest", avatax.ErrorDetail{
		Code:        "JsonFormatError",
		Message:     "The request body did not contain valid JSON.",
		Description: reason,
	})
}

func errValueRequired(field string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "ValidationException", "IncorrectData", avatax.ErrorDetail{
		Code:        "ValueRequiredError",
		Message:     fmt.Sprintf("Field %s is required.", field),
		Description: fmt.Sprintf("Please provide a value for field %s.", field),
	})
}

func errStringLength(field string, max int) *apiError {
	return newErrorDetail(http.StatusBadRequest, "StringLengthError", "IncorrectData", avatax.ErrorDetail{
		Code:        "StringLengthError",
		Message:     fmt.Sprintf("Field '%s' has an invalid length.", field),
		Description: fmt.Sprintf("Field '%s' must be between 0 and %d characters in length.", field, max),
	})
}

func errInvalidEnum(field, value string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "ModelStateInvalid", "HttpRequest", avatax.ErrorDetail{
		Code:        "InvalidEnumValue",
		Message:     fmt.Sprintf("The value '%s' is not a valid value for field '%s'.", value, field),
		Description: fmt.Sprintf("Field '%s' does not accept the value '%s'.", field, value),
		RefersTo:    field,
	})
}

func errMissingLine() *apiError {
	return newErrorDetail(http.StatusBadRequest, "MissingLine", "HttpRequestHeaders", avatax.ErrorDetail{
		Code:        "MissingLine",
		Message:     "Transactions must have at least one line.",
		Description: "The CreateTransactionModel object must have an element called 'lines', with at least one valid line record.",
	})
}

// errGetTax is a tax-engine failure (GetTaxError, 300) with the legacy fault
// in faultSubCode and the offending field in refersTo.
func errGetTax(message, description, faultSubCode, refersTo string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "GetTaxError", "Unknown", avatax.ErrorDetail{
		Code:         "GetTaxError",
		Message:      message,
		Description:  description,
		FaultCode:    "GetTaxError",
		FaultSubCode: faultSubCode,
		RefersTo:     refersTo,
	})
}

func errDocStatus() *apiError {
	return errGetTax("DocStatus is invalid for this operation.", "Expected Saved|Posted", "DocStatusError", "DocStatus")
}

func errInvalidAddress(which string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "InvalidAddress", "IncorrectData", avatax.ErrorDetail{
		Code:    "InvalidAddress",
		Message: "The address value was incomplete.",
		Description: fmt.Sprintf("The address value %s was incomplete. You must provide either a valid postal code, "+
			"line1 + city + region, or line1 + postal code.", which),
	})
}

func errAlreadyCancelled() *apiError {
	return newError(http.StatusBadRequest, "TransactionAlreadyCancelled", "The transaction has already been cancelled.",
		"The transaction you attempted to void was already cancelled.", "IncorrectData")
}

func errLocked(code string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "CannotModifyLockedTransaction", "AvaTaxApiServer", avatax.ErrorDetail{
		Code:        "CannotModifyLockedTransaction",
		Message:     "Modifying a locked document is not allowed.",
		Description: fmt.Sprintf("Document %s is locked. Modification is not allowed.", code),
	})
}

func errRefund(code, message, description string) *apiError {
	return newError(http.StatusBadRequest, code, message, description, "AvaTaxApiServer")
}

func errTimeoutRequested() *apiError {
	return newError(http.StatusBadRequest, "TimeoutRequested", "You requested a timeout error for this API call.",
		"The API call was delayed by the server and then failed, as you requested with $include=ForceTimeout.", "HttpRequest")
}

// errEnumConversion is Avalara's answer to an enum value it cannot read,
// including an empty string.
func errEnumConversion(field, value, enumName string) *apiError {
	return newErrorDetail(http.StatusBadRequest, "ModelStateInvalid", "HttpRequest", avatax.ErrorDetail{
		Code:    "JsonFormatError",
		Message: "The request body did not contain valid JSON.",
		Description: fmt.Sprintf("Error converting value \"%s\" to type 'Avalara.AvaTax.Enums.%s'. Path '%s'",
			value, enumName, field),
	})
}
