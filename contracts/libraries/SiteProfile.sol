// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Bytes} from "@openzeppelin/contracts/utils/Bytes.sol";

/**
 * @title SiteProfile
 * @notice Checks and stores the descriptive fields of a hospital site: its name, its country code, its
 * language tag and its public key.
 *
 * Name, language and public key are stored as one packed byte string,
 * `uint8(len(name)) ‖ uint8(len(language)) ‖ name ‖ language ‖ publicKey`, instead of three separate dynamic
 * values. A typical site (30-byte name, 5-byte tag, 33-byte compressed key) then fills three storage slots
 * instead of five, which keeps onboarding a site within its gas budget.
 */
library SiteProfile {
    /// @notice Longest accepted site name, in bytes of UTF-8.
    uint256 internal constant MAX_NAME_LENGTH = 64;
    /// @notice Longest accepted language tag, in bytes (the longest BCP 47 tag a registry must store is 35).
    uint256 internal constant MAX_LANGUAGE_LENGTH = 35;

    /// @notice Whether `name` has between 1 and {MAX_NAME_LENGTH} bytes.
    function isValidName(string calldata name) internal pure returns (bool) {
        uint256 length = bytes(name).length;
        return length != 0 && length <= MAX_NAME_LENGTH;
    }

    /// @notice Whether `country` is two upper-case ASCII letters, as in an ISO 3166-1 alpha-2 code ("NO", "SE").
    function isValidCountry(bytes2 country) internal pure returns (bool) {
        return _isUpperLetter(country[0]) && _isUpperLetter(country[1]);
    }

    /// @notice Whether `language` has between 1 and {MAX_LANGUAGE_LENGTH} visible ASCII characters (0x21-0x7E),
    /// as a BCP 47 tag such as "sv" or "nb-NO" has.
    function isValidLanguage(string calldata language) internal pure returns (bool) {
        bytes calldata tag = bytes(language);
        uint256 length = tag.length;
        if (length == 0 || length > MAX_LANGUAGE_LENGTH) return false;
        for (uint256 i = 0; i < length; ++i) {
            bytes1 char = tag[i];
            if (char < 0x21 || char > 0x7e) return false;
        }
        return true;
    }

    /// @notice Packs the three variable-length fields into one byte string. Lengths must already be checked.
    function pack(
        string calldata name,
        string calldata language,
        bytes calldata publicKey
    ) internal pure returns (bytes memory) {
        return
            abi.encodePacked(
                uint8(bytes(name).length),
                uint8(bytes(language).length),
                name,
                language,
                publicKey
            );
    }

    /// @notice Splits a byte string written by {pack} back into its three fields.
    function unpack(
        bytes memory packed
    ) internal pure returns (string memory name, string memory language, bytes memory publicKey) {
        uint256 languageStart = 2 + uint8(packed[0]);
        uint256 keyStart = languageStart + uint8(packed[1]);
        name = string(Bytes.slice(packed, 2, languageStart));
        language = string(Bytes.slice(packed, languageStart, keyStart));
        publicKey = Bytes.slice(packed, keyStart);
    }

    function _isUpperLetter(bytes1 char) private pure returns (bool) {
        return char >= 0x41 && char <= 0x5a;
    }
}
