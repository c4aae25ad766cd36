package gadget

// Report descriptors (HID 1.11 §6.2.2) of the three HID functions.

// KeyboardReportDescriptor is the boot keyboard's (HID 1.11 Appendix
// B.1) with the key array's logical and usage maximum raised from 101
// (0x65) to 164 (0xA4), the last key hardware.KeyCode.Valid allows.
// Input: 8 bytes (modifier bits, reserved, six key usages); output: 1
// byte (LED bits Num Lock, Caps Lock, Scroll Lock, Compose, Kana; 3 bits
// padding).
var KeyboardReportDescriptor = []byte{
	0x05, 0x01, // Usage Page (Generic Desktop)
	0x09, 0x06, // Usage (Keyboard)
	0xA1, 0x01, // Collection (Application)
	0x05, 0x07, //   Usage Page (Key Codes)
	0x19, 0xE0, //   Usage Minimum (224)
	0x29, 0xE7, //   Usage Maximum (231)
	0x15, 0x00, //   Logical Minimum (0)
	0x25, 0x01, //   Logical Maximum (1)
	0x75, 0x01, //   Report Size (1)
	0x95, 0x08, //   Report Count (8)
	0x81, 0x02, //   Input (Data, Variable, Absolute): modifier byte
	0x95, 0x01, //   Report Count (1)
	0x75, 0x08, //   Report Size (8)
	0x81, 0x01, //   Input (Constant): reserved byte
	0x95, 0x05, //   Report Count (5)
	0x75, 0x01, //   Report Size (1)
	0x05, 0x08, //   Usage Page (LEDs)
	0x19, 0x01, //   Usage Minimum (1)
	0x29, 0x05, //   Usage Maximum (5)
	0x91, 0x02, //   Output (Data, Variable, Absolute): LED report
	0x95, 0x01, //   Report Count (1)
	0x75, 0x03, //   Report Size (3)
	0x91, 0x01, //   Output (Constant): LED report padding
	0x95, 0x06, //   Report Count (6)
	0x75, 0x08, //   Report Size (8)
	0x15, 0x00, //   Logical Minimum (0)
	0x26, 0xA4, 0x00, // Logical Maximum (164)
	0x05, 0x07, //   Usage Page (Key Codes)
	0x19, 0x00, //   Usage Minimum (0)
	0x29, 0xA4, //   Usage Maximum (164)
	0x81, 0x00, //   Input (Data, Array): key arrays (6 bytes)
	0xC0, // End Collection
}

// AbsoluteReportDescriptor is a tablet: 7-byte input reports of 5
// buttons (3 bits padding), X and Y little-endian 0..32767, vertical
// wheel and horizontal pan (AC Pan), -127..127 each.
var AbsoluteReportDescriptor = []byte{
	0x05, 0x01, // Usage Page (Generic Desktop)
	0x09, 0x02, // Usage (Mouse)
	0xA1, 0x01, // Collection (Application)
	0x09, 0x01, //   Usage (Pointer)
	0xA1, 0x00, //   Collection (Physical)
	0x05, 0x09, //     Usage Page (Button)
	0x19, 0x01, //     Usage Minimum (1)
	0x29, 0x05, //     Usage Maximum (5)
	0x15, 0x00, //     Logical Minimum (0)
	0x25, 0x01, //     Logical Maximum (1)
	0x95, 0x05, //     Report Count (5)
	0x75, 0x01, //     Report Size (1)
	0x81, 0x02, //     Input (Data, Variable, Absolute)
	0x95, 0x01, //     Report Count (1)
	0x75, 0x03, //     Report Size (3)
	0x81, 0x01, //     Input (Constant)
	0x05, 0x01, //     Usage Page (Generic Desktop)
	0x09, 0x30, //     Usage (X)
	0x09, 0x31, //     Usage (Y)
	0x16, 0x00, 0x00, // Logical Minimum (0)
	0x26, 0xFF, 0x7F, // Logical Maximum (32767)
	0x75, 0x10, //     Report Size (16)
	0x95, 0x02, //     Report Count (2)
	0x81, 0x02, //     Input (Data, Variable, Absolute)
	0x09, 0x38, //     Usage (Wheel)
	0x15, 0x81, //     Logical Minimum (-127)
	0x25, 0x7F, //     Logical Maximum (127)
	0x75, 0x08, //     Report Size (8)
	0x95, 0x01, //     Report Count (1)
	0x81, 0x06, //     Input (Data, Variable, Relative)
	0x05, 0x0C, //     Usage Page (Consumer)
	0x0A, 0x38, 0x02, // Usage (AC Pan)
	0x15, 0x81, //     Logical Minimum (-127)
	0x25, 0x7F, //     Logical Maximum (127)
	0x75, 0x08, //     Report Size (8)
	0x95, 0x01, //     Report Count (1)
	0x81, 0x06, //     Input (Data, Variable, Relative)
	0xC0, //   End Collection
	0xC0, // End Collection
}

// RelativeReportDescriptor is a mouse: 5-byte input reports of 5
// buttons (3 bits padding), X and Y moves, wheel and AC Pan, -127..127
// each.
var RelativeReportDescriptor = []byte{
	0x05, 0x01, // Usage Page (Generic Desktop)
	0x09, 0x02, // Usage (Mouse)
	0xA1, 0x01, // Collection (Application)
	0x09, 0x01, //   Usage (Pointer)
	0xA1, 0x00, //   Collection (Physical)
	0x05, 0x09, //     Usage Page (Button)
	0x19, 0x01, //     Usage Minimum (1)
	0x29, 0x05, //     Usage Maximum (5)
	0x15, 0x00, //     Logical Minimum (0)
	0x25, 0x01, //     Logical Maximum (1)
	0x95, 0x05, //     Report Count (5)
	0x75, 0x01, //     Report Size (1)
	0x81, 0x02, //     Input (Data, Variable, Absolute)
	0x95, 0x01, //     Report Count (1)
	0x75, 0x03, //     Report Size (3)
	0x81, 0x01, //     Input (Constant)
	0x05, 0x01, //     Usage Page (Generic Desktop)
	0x09, 0x30, //     Usage (X)
	0x09, 0x31, //     Usage (Y)
	0x09, 0x38, //     Usage (Wheel)
	0x15, 0x81, //     Logical Minimum (-127)
	0x25, 0x7F, //     Logical Maximum (127)
	0x75, 0x08, //     Report Size (8)
	0x95, 0x03, //     Report Count (3)
	0x81, 0x06, //     Input (Data, Variable, Relative)
	0x05, 0x0C, //     Usage Page (Consumer)
	0x0A, 0x38, 0x02, // Usage (AC Pan)
	0x95, 0x01, //     Report Count (1)
	0x81, 0x06, //     Input (Data, Variable, Relative)
	0xC0, //   End Collection
	0xC0, // End Collection
}

// Report lengths in bytes of the input reports above.
const (
	KeyboardReportLength = 8
	AbsoluteReportLength = 7
	RelativeReportLength = 5
)
