/** Terms spelled backwards, by code point: the keys of the suffix dictionary. Pure module. @module */

/** A term spelled backwards (by code point). */
export const reverseTerm = (term: string): string => Array.from(term).reverse().join('');
