// How many posts the GIN index may hand over for a query, at most: what bounds the cost of
// searching every post through it. The planner's own estimate multiplies the shares of the
// words as if they were independent, and words of a phrase are not: "getting started"
// would be guessed at 0.4 % of posts when 6.7 % hold both. An upper bound does not guess:
// every post matching an AND holds its rarest part, and an OR matches no more posts than
// its parts together.

/** The part of a query the GIN index serves: lexemes joined by AND and OR. */
export type Candidates = { lexeme: string } | { and: Candidates[] } | { or: Candidates[] };

// The tokens of a tsquery's text form: quoted lexemes (with any weights or prefix mark),
// parentheses, & and |, and the phrase operators <-> and <N>, read here as &.
const TOKEN = /\s*('(?:[^']|'')*'(?::[A-D*]+)?|\(|\)|&|\||<(?:-|\d+)>|!)/y;

/**
 * Reads querytree's text of a query (negations already left out; "T" when nothing is
 * left) as the posts the index hands over: each phrase loosened to all its words.
 * Undefined when the index cannot serve the query.
 */
export function parseCandidates(indexed: string): Candidates | undefined {
  if (indexed.trim() === 'T' || indexed.trim() === '') return undefined;
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < indexed.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(indexed);
    if (!match) {
      if (indexed.slice(start).trim() === '') break;
      throw new Error(`Unexpected text in a tsquery at ${start}: ${indexed}`);
    }
    const token = match[1]!;
    if (token === '!') throw new Error(`A negation in querytree's text: ${indexed}`);
    tokens.push(token.startsWith('<') ? '&' : token);
  }
  let at = 0;
  const expect = (token: string): void => {
    if (tokens[at++] !== token) throw new Error(`Expected ${token} in a tsquery: ${indexed}`);
  };
  // One level of precedence: operands of `next` joined by `operator` (| binds loosest).
  const joined =
    (operator: '|' | '&', next: () => Candidates): (() => Candidates) =>
    () => {
      const parts = [next()];
      while (tokens[at] === operator) {
        at++;
        parts.push(next());
      }
      if (parts.length === 1) return parts[0]!;
      return operator === '|' ? { or: parts } : { and: parts };
    };
  const both = joined('&', () => term());
  const either = joined('|', both);
  const term = (): Candidates => {
    const token = tokens[at++];
    if (token === '(') {
      const inner = either();
      expect(')');
      return inner;
    }
    if (token?.startsWith("'")) return { lexeme: token };
    throw new Error(`Expected a lexeme in a tsquery: ${indexed}`);
  };
  const candidates = either();
  if (at !== tokens.length) throw new Error(`Unexpected text at the end of a tsquery: ${indexed}`);
  return candidates;
}

/** The lexemes of `candidates` (each once), in tsquery text form. */
export function lexemesOf(candidates: Candidates): string[] {
  if ('lexeme' in candidates) return [candidates.lexeme];
  const parts = 'and' in candidates ? candidates.and : candidates.or;
  return [...new Set(parts.flatMap(lexemesOf))];
}

/** At most how many posts match `candidates`, given how many hold each lexeme. */
export function upperBound(candidates: Candidates, postsHolding: (lexeme: string) => number): number {
  if ('lexeme' in candidates) return postsHolding(candidates.lexeme);
  if ('and' in candidates) return Math.min(...candidates.and.map((part) => upperBound(part, postsHolding)));
  return candidates.or.reduce((sum, part) => sum + upperBound(part, postsHolding), 0);
}
