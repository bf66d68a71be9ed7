"""Payment hand-off of AFAS (#21): after validation, the Caf's payment system pays.

- ``models``: payment order files and their lines, return files, indus (recoveries), the
  partners' bank references;
- ``xml``: pure building of the order file and reading of the return file (XSD in
  ``schemas/paiement-ordre-1.xsd`` and ``schemas/paiement-retour-1.xsd``);
- ``dues``: what is due on a day (acomptes, régularisations, recoveries, offsets), pure;
- ``services``: verb-named state changes (produce an order, apply a return, create an indu,
  choose the offset), each writing the audit entry; callers commit;
- ``views``/``tasks``: thin pages and the daily beat task.
See docs/paiement.md."""
